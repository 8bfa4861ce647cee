"""The page for browsers, end to end: Debian's Chromium driven by Playwright against
lanchat itself (`lanchat --headless --bind 127.0.0.1 --web-port 0`) on loopback.

No token, no entry; join by name (the visitor is a peer with "protocol":"web"); Chinese
text both ways with delivered marks; a file each way with matching bytes; the upload
waits for the host's accept (driven on lanchat's stdin) and a declined one never lands;
a reload keeps the conversation; a closed tab is peer_left, and the same browser coming
back sees its conversation again from the host's history; a new link stops the old one.
Screenshots at phone size go to screenshots/web-*.png.

Run through scripts/web-e2e.sh (it builds lanchat and, as root, runs all of this in a
network namespace of its own). Nothing here reaches beyond 127.0.0.1.
"""

import hashlib
import json
import os
import queue
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import zlib
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
LANCHAT = Path(os.environ.get("LANCHAT", ROOT / "target/debug/lanchat"))
SHOTS = ROOT / "screenshots"
DEADLINE = 20  # seconds any one expected thing may take
PHONE = {"width": 390, "height": 780}
HOST_NAME = "主机 Host"
CHROMIUM_ARGS = [
    "--no-sandbox",  # tests run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Host:
    """lanchat --headless: JSON lines in, JSON lines out."""

    def __init__(self, work: Path):
        self.inbox = work / "inbox"
        self.proc = subprocess.Popen(
            [str(LANCHAT), "--headless", "--name", HOST_NAME, "--bind", "127.0.0.1",
             "--discovery-port", str(free_udp_port()), "--web-port", "0",
             "--data-dir", str(work / "data"), "--download-dir", str(self.inbox)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
        )
        self.lines: "queue.Queue[dict]" = queue.Queue()
        threading.Thread(target=self._read, name="lanchat-out", daemon=True).start()
        self.url = self.expect("web_ready")["url"]

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def expect(self, event: str, **fields) -> dict:
        """The next line of this event whose fields match (others are passed over)."""
        while True:
            try:
                line = self.lines.get(timeout=DEADLINE)
            except queue.Empty:
                raise AssertionError(f"lanchat never said {event} {fields}") from None
            if line.get("event") == "error":
                raise AssertionError(f"lanchat said: {line}")
            if line.get("event") == event and all(line.get(k) == v for k, v in fields.items()):
                return line

    def cmd(self, **command):
        self.proc.stdin.write(json.dumps(command, ensure_ascii=False) + "\n")
        self.proc.stdin.flush()

    def quit(self):
        self.cmd(cmd="quit")
        self.expect("stopped")
        self.proc.wait(timeout=DEADLINE)


def png(width: int, height: int) -> bytes:
    """A real PNG (a colour gradient), made here: no image library needed."""
    rows = b"".join(
        b"\x00" + bytes(v for x in range(width) for v in (x * 255 // width, y * 255 // height, 160))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


PASSED = []


def ok(what: str):
    PASSED.append(what)
    print("ok:", what, flush=True)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def visitor_joined(host: Host, name: str) -> str:
    line = host.expect("peer_joined")
    peer = line["peer"]
    assert (peer["protocol"], peer["name"]) == ("web", name), peer
    return peer["id"]


def main() -> int:
    SHOTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lanchat-web-e2e-") as tmp:
        work = Path(tmp)
        host = Host(work)
        base = host.url.split("/t/")[0]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            context = browser.new_context(
                viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                locale="zh-CN", accept_downloads=True,
            )
            page = context.new_page()

            # No token, no entry: nothing about the host either.
            for url in [base + "/", base + "/t/" + "0" * 32 + "/", host.url.replace("/t/", "/t/x")]:
                response = page.goto(url)
                assert response.status == 403, (url, response.status)
                assert "主机" not in page.content()
            ok("no token, no entry")

            # Join by name: a peer of lanchat's, marked as a browser visitor.
            page.goto(host.url)
            expect(page.get_by_role("heading")).to_have_text("Chat with " + HOST_NAME)
            page.get_by_label("Your name").fill("小红")
            page.screenshot(path=SHOTS / "web-join.png")
            page.get_by_role("button", name="Join").click()
            peer = visitor_joined(host, "小红")
            ok("joined as 小红, a peer with protocol web")

            # Chinese text both ways, with delivered marks both ways.
            log = page.get_by_role("log")
            page.get_by_label("Message").fill("你好，主人！今天有空吗？")
            page.get_by_role("button", name="Send").click()
            host.expect("message", **{"from": peer, "text": "你好，主人！今天有空吗？"})
            expect(log).to_contain_text("delivered ✓")
            host.cmd(cmd="send", to=peer, text="欢迎！这是来自主机的中文消息。🎉")
            sent = host.expect("sent", to=peer)["msg_id"]
            expect(log).to_contain_text("欢迎！这是来自主机的中文消息。🎉")
            host.expect("delivered", msg_id=sent, to=peer)
            page.get_by_label("Message").fill("第二行\n换行也可以")
            page.get_by_label("Message").press("Enter")
            host.expect("message", **{"from": peer, "text": "第二行\n换行也可以"})
            ok("Chinese both ways, delivered both ways")

            # A file from the browser: it waits for the host, then lands with the same bytes.
            upload = work / "测试文件.bin"
            upload.write_bytes(os.urandom(300_000))
            page.get_by_label("Send a file").set_input_files(upload)
            offer = host.expect("file_offer", **{"from": peer, "name": "测试文件.bin", "size": 300_000})
            assert not host.inbox.exists() or not any(host.inbox.iterdir()), "landed before the accept"
            expect(log).to_contain_text("waiting for " + HOST_NAME + " to accept")
            page.screenshot(path=SHOTS / "web-upload-waiting.png")
            host.cmd(cmd="accept", transfer_id=offer["transfer_id"])
            landed = Path(host.expect("transfer_done", transfer_id=offer["transfer_id"])["path"])
            assert landed.name == "测试文件.bin" and landed.parent == host.inbox, landed
            assert sha(landed.read_bytes()) == sha(upload.read_bytes()), "upload bytes differ"
            expect(log).to_contain_text("accepted ✓")
            ok("upload waited for the accept, bytes match")

            # One the host declines never lands.
            unwanted = work / "不要的.txt"
            unwanted.write_text("no", encoding="utf-8")
            page.get_by_label("Send a file").set_input_files(unwanted)
            offer = host.expect("file_offer", name="不要的.txt")
            host.cmd(cmd="decline", transfer_id=offer["transfer_id"])
            host.expect("transfer_failed", transfer_id=offer["transfer_id"], kind="declined")
            expect(log).to_contain_text("declined")
            assert not (host.inbox / "不要的.txt").exists()
            ok("a declined upload never lands")

            # Files from the host: a picture shown inline, a file as a named link.
            picture = work / "图片.png"
            picture.write_bytes(png(240, 160))
            note = work / "说明.txt"
            note.write_text("这是一个测试文件。\nline two\n", encoding="utf-8")
            host.cmd(cmd="send_file", to=peer, path=str(picture))
            pic_id = host.expect("offer_sent", name="图片.png")["transfer_id"]
            host.cmd(cmd="send_file", to=peer, path=str(note))
            note_id = host.expect("offer_sent", name="说明.txt")["transfer_id"]
            image = page.get_by_role("img", name="图片.png")
            expect(image).to_be_visible()
            page.wait_for_function("img => img.complete && img.naturalWidth === 240", arg=image.element_handle())
            host.expect("transfer_done", transfer_id=pic_id)
            with page.expect_download() as got:
                page.get_by_role("link", name="说明.txt").click()
            download = got.value
            assert download.suggested_filename == "说明.txt", download.suggested_filename
            saved = work / "saved.txt"
            download.save_as(saved)
            assert sha(saved.read_bytes()) == sha(note.read_bytes()), "download bytes differ"
            host.expect("transfer_done", transfer_id=note_id)
            ok("picture inline, download by name, bytes match, both done")

            # A reload keeps the conversation.
            before = log.get_by_role("listitem").count()
            page.reload()
            expect(log).to_contain_text("欢迎！这是来自主机的中文消息。🎉")
            expect(log.get_by_role("listitem")).to_have_count(before)
            expect(page.get_by_role("img", name="图片.png")).to_be_visible()
            page.get_by_role("img", name="图片.png").scroll_into_view_if_needed()
            page.screenshot(path=SHOTS / "web-conversation.png")
            ok(f"a reload shows all {before} rows again")

            dark = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                       color_scheme="dark", locale="zh-CN")
            dark.add_cookies(context.cookies())
            dark_page = dark.new_page()
            dark_page.goto(host.url)
            expect(dark_page.get_by_role("log")).to_contain_text("accepted ✓")
            dark_page.screenshot(path=SHOTS / "web-conversation-dark.png")
            dark.close()

            # Closing the tab leaves; the same browser coming back sees the conversation
            # again, read from lanchat's history, and what was written meanwhile.
            page.close()
            left = host.expect("peer_left", id=peer)
            assert (left["protocol"], left["name"]) == ("web", "小红"), left
            host.cmd(cmd="send", to=peer, text="你走了以后我写的。")
            host.expect("sent", to=peer)
            page = context.new_page()
            page.goto(host.url)
            assert visitor_joined(host, "小红") == peer, "the same peer"
            log = page.get_by_role("log")
            expect(log).to_contain_text("你好，主人！今天有空吗？")
            expect(log).to_contain_text("欢迎！这是来自主机的中文消息。🎉")
            expect(log).to_contain_text("你走了以后我写的。")
            expect(page.get_by_role("img", name="图片.png")).to_be_visible()
            page.screenshot(path=SHOTS / "web-back.png")
            ok("closed tab is peer_left; back again, the conversation comes from history")

            # A new link stops the old one, in an open page too.
            old = host.url
            host.cmd(cmd="web_new_link")
            host.expect("peer_left", id=peer)  # said before the new link
            new = host.expect("web_ready")["url"]
            assert new != old
            expect(page.get_by_role("status")).to_contain_text("This link no longer works")
            page.screenshot(path=SHOTS / "web-revoked.png")
            assert page.goto(old).status == 403
            assert page.goto(new).status == 200
            ok("a new link stops the old one")

            browser.close()
        host.quit()
    print(f"web-e2e: {len(PASSED)} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
