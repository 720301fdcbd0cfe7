"""`cronops console --demo`, piped, as a newcomer runs it: list, press buttons, pause, resume."""

from __future__ import annotations

import re
import subprocess
import sys


def run_console(lines: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "console", "--demo"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_piped_demo_session_lists_pauses_and_resumes() -> None:
    done = run_console(["/cron list prod", "click 1", "/cron help pause"])
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "`prod:" in out
    assert re.search(r"\[1\] Show", out)
    assert "Pause" in out or "Resume" in out  # the card opened by `click 1` has its buttons
    assert "/cron pause REF [DURATION]" in out
    assert "Traceback" not in out + done.stderr


def test_pause_then_resume_flips_the_card(tmp_path: object) -> None:
    done = run_console(["/cron show prod:4242", "click 1", "click 5"])  # [5]: the new Resume
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "@UCONSOLE paused `prod:4242`" in out
    assert "Paused by @UCONSOLE" in out
    assert "@UCONSOLE resumed `prod:4242`" in out


def test_unknown_input_is_explained_not_crashed() -> None:
    done = run_console(["hello", "/cron frobnicate", "click 99"])
    assert done.returncode == 0
    assert "Type a /cron command" in done.stdout
    assert "frobnicate" in done.stdout
    assert "No button 99" in done.stdout


def test_a_modal_is_filled_field_by_field() -> None:
    answers = [
        "Nightly export",
        "https://example.com/export",
        "",
        "30 2 * * *",
        "Europe/Berlin",
        "",
    ]
    done = run_console(["/cron create prod", *answers, "/cron list prod Nightly export"])
    assert done.returncode == 0, done.stderr
    assert "@UCONSOLE created `prod:" in done.stdout
    assert "modal: Done" in done.stdout
    assert "At 02:30 (Europe/Berlin)" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_form_errors_are_shown_and_nothing_is_created() -> None:
    answers = ["x", "ftp://nope", "", "99 * * * *", "Mars/Base", ""]
    done = run_console(["/cron create prod", *answers, "/cron list prod x"])
    assert done.returncode == 0, done.stderr
    assert "The form has errors:" in done.stdout
    assert "url:" in done.stdout
    assert "cron:" in done.stdout
    assert "created `prod:" not in done.stdout


def test_the_demo_shows_the_alert_lifecycle() -> None:
    lines = ["poll", "fail prod:4242", "poll", "click 1", "recover prod:4242", "poll"]
    done = run_console(lines)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Already failing when monitoring of `prod`" in out
    assert "*Nightly database backup* is failing" in out
    assert "Acknowledged by @UCONSOLE" in out
    assert "recovered after failing" in out
    assert "Traceback" not in out + done.stderr


def test_demo_words_without_a_job_say_what_they_need() -> None:
    done = run_console(["fail", "recover", "fail nightly-nothing", "list failing"])
    assert done.returncode == 0, done.stderr
    assert "`fail` needs a job: `fail REF`" in done.stdout
    assert "`recover` needs a job: `recover REF`" in done.stdout
    assert "No job matches `nightly-nothing`." in done.stdout
    assert "Try `/cron list nightly-nothing`." in done.stdout  # a name: search for it
    assert "simulated" not in done.stdout
    assert "Commands start with /cron: try `/cron list failing`." in done.stdout
