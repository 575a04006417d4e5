from __future__ import annotations

import errno
import ssl

import pytest

from shared.wording import connect_error, count, seconds


@pytest.mark.parametrize(("value", "shown"), [(9.9999, "10s"), (10.0, "10s"), (1.55, "1.6s"), (0.25, "0.25s")])
def test_seconds_read_as_people_write_them(value: float, shown: str) -> None:
    assert seconds(value) == shown


def test_count_agrees_with_its_number() -> None:
    assert (count(1, "run"), count(2, "run"), count(0, "entry", "entries")) == ("1 run", "2 runs", "0 entries")


def test_connect_error_finds_the_os_error_under_wrappers() -> None:
    refused = ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
    try:
        try:
            raise ExceptionGroup("attempts", [refused])
        except ExceptionGroup as group:
            raise RuntimeError("All connection attempts failed") from group
    except RuntimeError as wrapped:
        assert connect_error(wrapped) == "connection refused"
    assert connect_error(TimeoutError(), timeout_s=15) == "no answer within 15s"


def test_connect_error_says_a_tls_certificate_was_not_accepted_not_operation_not_permitted() -> None:
    # an SSLError's errno is OpenSSL's error code (1), which os.strerror reads as EPERM
    refused = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    refused.verify_message = "unable to get local issuer certificate"
    try:
        raise RuntimeError("wrapped") from refused
    except RuntimeError as wrapped:
        shown = connect_error(wrapped)
    assert shown == "the server's TLS certificate was not accepted: unable to get local issuer certificate"
    other = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    other.reason = "WRONG_VERSION_NUMBER"
    assert connect_error(other) == "TLS failed: WRONG_VERSION_NUMBER"
