"""The secret detector against detect-secrets itself, on one shared sample."""

from __future__ import annotations

from pathlib import Path

from nbprod.secrets import find_secrets, shannon_entropy

# Format-valid but fake: documentation examples and made-up strings.
SECRETS = [
    'aws_access_key_id = "AKIAIOSFODNN7EXAMPLE"',
    'token = "ghp_a1B2c3D4e5F6g7H8i9J0a1B2c3D4e5F6g7H8"',
    'slack = "xoxb-1234567890-abcdefghijkl"',
    'stripe.api_key = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"',
    'DB_PASSWORD = "correct-horse-battery"',
    "conn = 'postgresql://admin:Tr0ub4dor@db.example.com/sales'",
    'signing_key = "-----BEGIN RSA PRIVATE KEY-----"',
    'hf = "8f14e45fceea167a5a36dedd4bea2543a1b2c3d4"',
    'jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N"',
    "secret_key = 'q8Xv2Lp9Zr4Tn7Wc1Jb6Hs3Kd5Mf0Gy'",
]
BENIGN = [
    'df = pd.read_csv("data/passengers_train.csv")',
    "model = RandomForestClassifier(n_estimators=200, random_state=42)",
    'password = os.environ["DB_PASSWORD"]',
    'api_key = "<your-api-key>"',
    'password = ""',
    'columns = ["customer_lifetime_value", "monthly_charges"]',
    'url = "https://archive.ics.uci.edu/ml/datasets/wine"',
    'tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")',
]


def _detect_secrets_lines(tmp_path: Path, lines: list[str]) -> set[int]:
    import detect_secrets
    from detect_secrets.settings import default_settings

    sample = tmp_path / "sample.py"
    sample.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with default_settings():
        collection = detect_secrets.SecretsCollection()
        collection.scan_file(str(sample))
    return {s.line_number for _, s in collection}


def test_finds_what_detect_secrets_finds(tmp_path: Path) -> None:
    theirs = _detect_secrets_lines(tmp_path, SECRETS)
    ours = {i for i, line in enumerate(SECRETS, start=1) if find_secrets(line)}
    assert theirs == set(range(1, len(SECRETS) + 1)), "sample is not all secrets"
    assert ours == theirs


def test_quiet_where_detect_secrets_is_quiet(tmp_path: Path) -> None:
    theirs = _detect_secrets_lines(tmp_path, BENIGN)
    ours = {i for i, line in enumerate(BENIGN, start=1) if find_secrets(line)}
    assert theirs == set()
    assert ours == set()


def test_entropy_is_shannon_bits_per_character() -> None:
    assert shannon_entropy("aaaa") == 0
    assert shannon_entropy("abcd") == 2
    assert shannon_entropy("") == 0


def test_positions_not_values_are_reported() -> None:
    [secret] = find_secrets('\n    key = "AKIAIOSFODNN7EXAMPLE"')
    assert (secret.kind, secret.line, secret.col) == ("AWS access key", 2, 12)
    assert "AKIA" not in repr(secret)
