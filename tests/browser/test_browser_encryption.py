"""With JavaScript on, the request is encrypted in the browser: same content, only ciphertext on the wire."""

from __future__ import annotations

import base64
import contextlib
import io
import os
import re
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest
from flask import Flask, url_for
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait
from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import Identity
from crypto.age_header import check_age_file
from intake.models import Case
from intake.services.items import ItemPayload
from tests.browser.conftest import launch_chromium
from tests.browser.navigation import wait_for_main_text
from tests.submit.helpers import create_readers, decrypt_attachment, decrypt_item

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

pytestmark = pytest.mark.browser

MIB = 1024 * 1024
TEXT_MARKER = "ЧЕРНОВИК-МАРКЕР-7731"
COUNTRY = "Казахстан-маркер"
MESSAGE = f"Меня мобилизовали. {TEXT_MARKER}\nВторая строка."
FILE_NAMES = ("повестка-маркер.pdf", "видео-маркер.mp4")
RECEIPT = "Ваше обращение отправлено"


def fill_in(browser: webdriver.Chrome, live_server: str, files: list[Path]) -> None:
    browser.get(live_server + "/request?lang=ru")
    browser.find_element(By.CSS_SELECTOR, "input[name=help_kind][value=mobilisation]").click()
    browser.find_element(By.ID, "country").send_keys(COUNTRY)
    browser.find_element(By.CSS_SELECTOR, "input[name=urgency][value=danger_now]").click()
    browser.find_element(By.ID, "message").send_keys(MESSAGE)
    browser.find_element(By.ID, "attachments").send_keys("\n".join(str(path) for path in files))


def fill_in_and_send(browser: webdriver.Chrome, live_server: str, files: list[Path]) -> None:
    fill_in(browser, live_server, files)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    # The receipt replaces the page while we look
    wait_for_main_text(browser, RECEIPT, timeout=120)


def make_files(directory: Path) -> list[Path]:
    directory.mkdir()
    small = directory / FILE_NAMES[0]
    small.write_bytes(b"%PDF " + "Повестка маркер-файла".encode() * 100)
    video = directory / FILE_NAMES[1]
    video.write_bytes(os.urandom(3 * MIB + 12345))
    return [small, video]


def lawyer_view(app: Flask, case: Case, identity: Identity) -> tuple[ItemPayload, list[bytes]]:
    payload = decrypt_item(case.items[0], identity)
    contents = [decrypt_attachment(app, attachment, identity) for attachment in case.items[0].attachments]
    return payload, contents


def test_javascript_on_and_off_give_the_lawyer_identical_content(
    app: Flask, live_server: str, db_session: Session, tmp_path: Path, download_dir: Path
) -> None:
    readers = create_readers(db_session)
    files = make_files(tmp_path / "files")
    outcomes = []
    for javascript in (False, True):
        browser = launch_chromium(download_dir, tmp_path / f"profile-{javascript}", javascript=javascript)
        try:
            fill_in_and_send(browser, live_server, files)
            mode = browser.find_element(By.CSS_SELECTOR, ".encryption-mode").text
            # Nothing broke the Content-Security-Policy or Subresource Integrity
            assert [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"] == []
        finally:
            browser.quit()
        db_session.expire_all()
        case = db_session.scalars(select(Case).order_by(Case.number.desc())).first()
        assert case is not None
        assert case.encrypted_in_browser is javascript
        payload, contents = lawyer_view(app, case, readers.lawyer.identity)
        outcomes.append((payload, contents, mode))

    (plain, plain_files, plain_mode), (browser_made, browser_files, browser_mode) = outcomes
    assert plain.fields == browser_made.fields
    assert plain.message == browser_made.message == MESSAGE
    strip_ids = [(meta.filename, meta.content_type, meta.size) for meta in plain.attachments]
    assert strip_ids == [(meta.filename, meta.content_type, meta.size) for meta in browser_made.attachments]
    assert plain_files == browser_files == [path.read_bytes() for path in files]
    assert plain_mode != browser_mode


class CapturesBodies:
    """Keeps every request body the server receives, then hands the app an identical stream."""

    def __init__(self, wsgi_app: WSGIApplication) -> None:
        self.wsgi_app = wsgi_app
        self.bodies: list[tuple[str, str, bytes]] = []

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        self.bodies.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], body))
        environ["wsgi.input"] = io.BytesIO(body)
        return self.wsgi_app(environ, start_response)


def assert_only_ciphertext_went_up(capture: CapturesBodies, markers: list[str], files: list[Path], final_path: str) -> None:
    """No captured body holds a marker (raw or URL-encoded) or file bytes, chunks did go up, and
    the one final post to `final_path` carries its item as an age file (base64 hides nothing)."""
    needles = [form for marker in markers for form in (marker.encode(), quote(marker).encode())]
    needles += [path.read_bytes()[offset : offset + 64] for path in files for offset in (0, 1000)]
    assert any(method == "PATCH" for method, _, _ in capture.bodies), "no chunk was uploaded"
    for method, path, body in capture.bodies:
        for needle in needles:
            assert needle not in body, f"{method} {path} carries plaintext"
    [(_, _, final)] = [entry for entry in capture.bodies if entry[1] == final_path]
    item = base64.b64decode(re.search(rb'name="encrypted_item"\r\n\r\n([^\r]+)', final).group(1))  # type: ignore[union-attr]
    check_age_file(item, len(item), expected_recipients=2)


def test_with_javascript_on_no_request_body_holds_the_text_names_or_file_bytes(
    app: Flask, live_server: str, db_session: Session, tmp_path: Path, download_dir: Path
) -> None:
    readers = create_readers(db_session)
    files = make_files(tmp_path / "files")
    capture = CapturesBodies(app.wsgi_app)
    app.wsgi_app = capture  # type: ignore[method-assign]
    browser = launch_chromium(download_dir, tmp_path / "profile", javascript=True)
    try:
        fill_in_and_send(browser, live_server, files)
    finally:
        browser.quit()

    assert_only_ciphertext_went_up(
        capture, [TEXT_MARKER, COUNTRY, "Вторая строка", *FILE_NAMES, "маркер"], files, "/request/encrypted"
    )
    case = db_session.scalars(select(Case)).one()
    assert decrypt_item(case.items[0], readers.lawyer.identity).message == MESSAGE


class CuttingProxy:
    """A TCP proxy in front of the server that cuts one connection once `cut_after` bytes went up it."""

    def __init__(self, target_port: int, cut_after: int) -> None:
        self.target_port = target_port
        self.cut_after = cut_after
        self.forwarded = 0
        self.cuts = 0
        self.lock = threading.Lock()
        self.listener = socket.create_server(("localhost", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("localhost", self.target_port))
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, upwards: bool) -> None:
        try:
            while data := source.recv(65536):
                if upwards:
                    with self.lock:
                        self.forwarded += len(data)
                        cut = self.cuts == 0 and self.forwarded > self.cut_after
                        if cut:
                            self.cuts += 1
                    if cut:
                        break
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def cutting_proxy(live_server: str) -> Iterator[CuttingProxy]:
    proxy = CuttingProxy(int(live_server.rsplit(":", 1)[1]), cut_after=int(2.5 * MIB))
    yield proxy
    proxy.close()


def test_an_upload_cut_mid_file_resumes_and_completes(
    app: Flask, cutting_proxy: CuttingProxy, db_session: Session, tmp_path: Path, download_dir: Path
) -> None:
    readers = create_readers(db_session)
    files = make_files(tmp_path / "files")
    browser = launch_chromium(download_dir, tmp_path / "profile", javascript=True)
    try:
        # When the connection is cut in the middle of the video's chunks
        fill_in_and_send(browser, f"http://localhost:{cutting_proxy.port}", files)
    finally:
        browser.quit()

    # Then the script resumed from the server's offset and the lawyer gets every byte
    assert cutting_proxy.cuts == 1
    case = db_session.scalars(select(Case)).one()
    payload, contents = lawyer_view(app, case, readers.lawyer.identity)
    assert [meta.filename for meta in payload.attachments] == list(FILE_NAMES)
    assert contents == [path.read_bytes() for path in files]


class FailsFirstPost:
    """Answers the first POST to `path` with `status`, as the busy front or a gateway that lost the answer would.

    With `answer_lost`, the app handles that post first (and stores it): only its answer is lost.
    """

    def __init__(self, wsgi_app: WSGIApplication, path: str, status: int, answer_lost: bool) -> None:
        self.wsgi_app = wsgi_app
        self.path = path
        self.status = status
        self.answer_lost = answer_lost
        self.posts: list[str] = []

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ["PATH_INFO"]
        if environ["REQUEST_METHOD"] != "POST" or path != self.path:
            return self.wsgi_app(environ, start_response)
        self.posts.append(path)
        if len(self.posts) > 1:
            return self.wsgi_app(environ, start_response)
        if self.answer_lost:
            answer = self.wsgi_app(environ, lambda status, headers, exc_info=None: lambda data: None)
            b"".join(answer)
            getattr(answer, "close", lambda: None)()
        else:
            environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response(f"{self.status} Unavailable", [("Content-Type", "text/plain")])
        return [b"try again"]


@pytest.mark.parametrize(("status", "answer_lost"), [(503, False), (502, True)], ids=["busy", "answer-lost"])
def test_a_refused_or_unanswered_post_is_sent_again_and_stored_once(
    app: Flask,
    live_server: str,
    db_session: Session,
    tmp_path: Path,
    download_dir: Path,
    status: int,
    answer_lost: bool,
) -> None:
    readers = create_readers(db_session)
    files = make_files(tmp_path / "files")
    with app.test_request_context():
        failing = FailsFirstPost(app.wsgi_app, url_for("submit.send_encrypted_request"), status, answer_lost)
    app.wsgi_app = failing  # type: ignore[method-assign]
    browser = launch_chromium(download_dir, tmp_path / "profile", javascript=True)
    try:
        # When the final post, after every file went up, is refused once (or is stored but its answer lost)
        fill_in_and_send(browser, live_server, files)
    finally:
        browser.quit()

    # Then the script sent it again on its own, the receipt came, and the request is stored once
    assert len(failing.posts) == 2
    case = db_session.scalars(select(Case)).one()
    assert len(case.items) == 1
    payload, contents = lawyer_view(app, case, readers.lawyer.identity)
    assert payload.message == MESSAGE
    assert contents == [path.read_bytes() for path in files]


class SlowChunks:
    """Answers each chunk late, as a slow circuit would, so there is time to cancel."""

    def __init__(self, wsgi_app: WSGIApplication) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] == "PATCH":
            time.sleep(1)
        return self.wsgi_app(environ, start_response)


def test_cancel_stops_the_upload_and_leaves_nothing(
    app: Flask, live_server: str, db_session: Session, tmp_path: Path, download_dir: Path
) -> None:
    create_readers(db_session)
    files = make_files(tmp_path / "files")
    app.wsgi_app = SlowChunks(app.wsgi_app)  # type: ignore[method-assign]
    browser = launch_chromium(download_dir, tmp_path / "profile", javascript=True)
    try:
        fill_in(browser, live_server, files)
        # The page says before sending that a reload restarts a file
        assert (
            "Если перезагрузить страницу, файлы начнут отправляться заново"
            in browser.find_element(By.TAG_NAME, "main").text
        )
        browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()

        # When the submitter cancels while the video's chunks are going up
        wait = WebDriverWait(browser, 60)
        wait.until(lambda driver: list((app.config["INTAKE"].blob_dir / "uploads").glob("*.partial")))
        browser.find_element(By.XPATH, "//form//button[text()='Отменить']").click()

        # Then the page says so, the form can be sent again, and no upload is left on the server
        wait.until(
            lambda driver: (
                "Отправка отменена. Ничего не сохранено." in driver.find_element(By.TAG_NAME, "main").text
            )
        )
        assert browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").is_enabled()
        wait.until(lambda _driver: not list((app.config["INTAKE"].blob_dir / "uploads").glob("*.partial")))
        assert db_session.scalars(select(Case)).first() is None
    finally:
        browser.quit()


class AnswersFinalPostLate:
    """Stores the final post at once but holds its answer back, as a circuit that broke
    on the way back would, until `release` is set."""

    def __init__(self, wsgi_app: WSGIApplication, final_path: str) -> None:
        self.wsgi_app = wsgi_app
        self.final_path = final_path
        self.release = threading.Event()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] != "POST" or environ["PATH_INFO"] != self.final_path:
            return self.wsgi_app(environ, start_response)
        answer = self.wsgi_app(environ, lambda status, headers, exc_info=None: lambda data: None)
        b"".join(answer)
        getattr(answer, "close", lambda: None)()
        self.release.wait(60)
        start_response("502 Bad Gateway", [("Content-Type", "text/plain")])
        return [b"answer lost"]


def test_cancel_after_the_final_post_went_out_does_not_say_nothing_was_stored(
    app: Flask, live_server: str, db_session: Session, tmp_path: Path, download_dir: Path
) -> None:
    readers = create_readers(db_session)
    files = make_files(tmp_path / "files")
    with app.test_request_context():
        late = AnswersFinalPostLate(app.wsgi_app, url_for("submit.send_encrypted_request"))
    app.wsgi_app = late  # type: ignore[method-assign]
    browser = launch_chromium(download_dir, tmp_path / "profile", javascript=True)
    try:
        fill_in(browser, live_server, files)
        codename = browser.find_element(By.ID, "codename").text
        browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()

        # When the request is stored but its answer is slow to come back, and the submitter cancels
        wait = WebDriverWait(browser, 120)
        wait.until(lambda _driver: db_session.scalars(select(Case)).first() is not None)
        # (while it waits, the page says that all is sent and the server's answer is awaited)
        status = browser.find_element(By.CSS_SELECTOR, ".upload-status").text
        assert "Всё отправлено. Ждём подтверждения от сервера" in status
        browser.find_element(By.XPATH, "//form//button[text()='Отменить']").click()

        # Then the page does not claim that nothing was stored: it says the request may have
        # arrived, to be checked with the codename shown above, and the form can be sent again
        wait.until(lambda driver: "возможно, он дошёл" in driver.find_element(By.TAG_NAME, "main").text)
        main_text = browser.find_element(By.TAG_NAME, "main").text
        assert "Ничего не сохранено" not in main_text
        assert "проверьте это с кодовой фразой, показанной выше" in main_text
        assert browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").is_enabled()
        assert codename in main_text
    finally:
        late.release.set()
        browser.quit()

    # And the request the server stored is whole: its files were not discarded under it
    case = db_session.scalars(select(Case)).one()
    payload, contents = lawyer_view(app, case, readers.lawyer.identity)
    assert payload.message == MESSAGE
    assert contents == [path.read_bytes() for path in files]
