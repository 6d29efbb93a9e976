"""Solana addresses for wallet inputs, computed with `solders` (the Python
bindings of the Solana SDK) and the Python standard library.

Reads a JSON list of cases on stdin, prints a JSON list of base58 addresses:
  {"kind": "keypair_json", "input": "[1,2,...]"}
  {"kind": "base58", "input": "<base58 64-byte secret>"}
  {"kind": "seed_phrase", "input": "<words>", "passphrase": "", "path": "m/44'/501'/0'/0'"}
  {"kind": "seed_phrase_solana_keygen", "input": "<words>", "passphrase": ""}
"""
import hashlib
import json
import sys
import unicodedata

from solders.keypair import Keypair


def bip39_seed(phrase: str, passphrase: str) -> bytes:
    # BIP39: PBKDF2-HMAC-SHA512, 2048 rounds, salt "mnemonic" + passphrase, NFKD.
    words = unicodedata.normalize("NFKD", " ".join(phrase.lower().split()))
    salt = unicodedata.normalize("NFKD", "mnemonic" + passphrase)
    return hashlib.pbkdf2_hmac("sha512", words.encode(), salt.encode(), 2048)


def address(case: dict) -> str:
    kind = case["kind"]
    if kind == "keypair_json":
        return str(Keypair.from_json(case["input"]).pubkey())
    if kind == "base58":
        return str(Keypair.from_base58_string(case["input"]).pubkey())
    if kind == "seed_phrase":
        seed = bip39_seed(case["input"], case.get("passphrase", ""))
        return str(Keypair.from_seed_and_derivation_path(seed, case["path"]).pubkey())
    if kind == "seed_phrase_solana_keygen":
        # solana-keygen (through tiny-bip39) NFKD-normalises the salt as BIP39
        # requires; the Solana SDK's `from_seed_phrase_and_passphrase` does
        # not, so the two agree only for NFKD-stable passphrases.
        phrase, passphrase = case["input"], case.get("passphrase", "")
        key = Keypair.from_seed(bip39_seed(phrase, passphrase)[:32])
        if unicodedata.normalize("NFKD", passphrase) == passphrase:
            sdk = Keypair.from_seed_phrase_and_passphrase(phrase, passphrase)
            assert sdk.pubkey() == key.pubkey(), "solders disagrees with BIP39 for an ASCII passphrase"
        return str(key.pubkey())
    raise ValueError(f"unknown kind {kind}")


if __name__ == "__main__":
    print(json.dumps([address(c) for c in json.load(sys.stdin)]))
