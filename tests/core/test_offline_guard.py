"""The suite-wide offline guarantee: anything but loopback fails the test that tries it."""

from __future__ import annotations

import socket

import httpx
import pytest
from pytest_socket import SocketConnectBlockedError

pytestmark = pytest.mark.unit


BLOCKED = "tried to use socket.socket.connect"


def test_outbound_connection_is_blocked() -> None:
    # pytest-socket warns (an error under our filterwarnings) and raises: the test fails either way.
    with pytest.warns(UserWarning, match=BLOCKED), pytest.raises(SocketConnectBlockedError):
        socket.create_connection(("192.0.2.10", 80), timeout=1)


def test_outbound_http_is_blocked() -> None:
    with pytest.warns(UserWarning, match=BLOCKED), pytest.raises(SocketConnectBlockedError):
        httpx.get("http://203.0.113.5/", timeout=1)


def test_loopback_and_unix_sockets_are_allowed(tmp_path: object) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    server.close()
    left, right = socket.socketpair(socket.AF_UNIX)
    left.sendall(b"x")
    assert right.recv(1) == b"x"
    left.close()
    right.close()
