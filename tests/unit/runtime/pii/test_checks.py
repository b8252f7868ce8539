"""The check digits and number rules: real-shaped values pass, one digit off fails."""

from __future__ import annotations

import pytest

from slmesh.runtime.pii.checks import (
    ausweis_serial,
    bsn_valid,
    card_issued,
    iban_valid,
    icao_check_digit,
    luhn_valid,
    nino_valid,
    ssn_valid,
    steuer_id_valid,
)


@pytest.mark.parametrize(
    "iban",
    [
        "DE89370400440532013000",  # the Bundesbank's example
        "GB82WEST12345698765432",
        "NL91ABNA0417164300",
        "FR1420041010050500013M02606",
        "AT611904300234573201",
        "CH9300762011623852957",
        "BE68539007547034",
        "NO9386011117947",  # the shortest
    ],
)
def test_valid_ibans(iban: str) -> None:
    assert iban_valid(iban)


@pytest.mark.parametrize(
    "iban",
    [
        "DE89370400440532013001",  # check digits do not match
        "DE8937040044053201300",  # one short for Germany
        "DE893704004405320130000",  # one long
        "XX89370400440532013000",  # no such country
        "DE8A370400440532013000",  # check digits not digits
        "de89370400440532013000",  # lower case
        "DE12345678901234567890",
    ],
)
def test_invalid_ibans(iban: str) -> None:
    assert not iban_valid(iban)


def test_luhn() -> None:
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")


@pytest.mark.parametrize(
    "number",
    [
        "4111111111111111",  # Visa
        "5555555555554444",  # Mastercard
        "2223003122003222",  # Mastercard 2-series
        "378282246310005",  # Amex
        "6011111111111117",  # Discover
        "3530111333300000",  # JCB
        "4222222222222",  # Visa, 13 digits
    ],
)
def test_issued_cards(number: str) -> None:
    assert card_issued(number)


@pytest.mark.parametrize(
    "number",
    [
        "4111111111111112",  # Luhn fails
        "1234567812345670",  # Luhn holds, no issuer starts with 1
        "378282246310005" + "0",  # Amex has 15 digits, not 16
        "9111111111111111",
    ],
)
def test_not_issued_cards(number: str) -> None:
    assert not card_issued(number)


def test_ssn_rules() -> None:
    assert ssn_valid("123", "45", "6789")
    assert not ssn_valid("000", "45", "6789")
    assert not ssn_valid("666", "45", "6789")
    assert not ssn_valid("912", "45", "6789")
    assert not ssn_valid("123", "00", "6789")
    assert not ssn_valid("123", "45", "0000")


def test_nino_prefixes_and_suffix() -> None:
    assert nino_valid("AB123456C")
    assert not nino_valid("QQ123456C")  # Q is never a first letter (HMRC's examples use it)
    assert not nino_valid("BG123456A")  # an unallocated pair
    assert not nino_valid("AO123456A")  # O is never a second letter
    assert not nino_valid("AB123456E")  # suffix A-D only


def test_steuer_id() -> None:
    assert steuer_id_valid("86095742719")
    assert not steuer_id_valid("86095742718")  # check digit
    assert not steuer_id_valid("06095742719")  # leading zero
    assert not steuer_id_valid("12345678903")  # no digit repeated
    assert not steuer_id_valid("11123456789")  # three in a row


def test_ausweis_serial_and_icao_check_digit() -> None:
    # The specimen card's serial T22000129 carries check digit 3 in the machine-readable zone.
    assert ausweis_serial("T22000129")
    assert icao_check_digit("T22000129") == 3
    assert not ausweis_serial("TA2000129")  # A is no letter of the serial alphabet
    assert not ausweis_serial("TXYZCFGHJ")  # letters only: no serial


def test_bsn_eleven_proof() -> None:
    assert bsn_valid("111222333")
    assert bsn_valid("123456782")
    assert not bsn_valid("123456789")
    assert not bsn_valid("000000000")
