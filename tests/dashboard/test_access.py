"""dashboard.access without a page: settings parsing, matching, environment additions, role
order, the server's mode, bad files named in their errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dashboard import access
from dashboard.access import AccessSettings, AccessSettingsError, Role, entry_matches


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [access.ACCESS_FILE_ENV, *access.ENV_LISTS.values()]:
        monkeypatch.delenv(name, raising=False)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- roles ------------------------------------------------------------------------------


def test_roles_are_ordered_and_parsed() -> None:
    assert Role.VIEWER < Role.ANALYST < Role.ADMIN
    assert sorted([Role.ADMIN, Role.VIEWER, Role.ANALYST]) == [
        Role.VIEWER,
        Role.ANALYST,
        Role.ADMIN,
    ]
    assert Role.parse(" Analyst ") is Role.ANALYST and Role.ADMIN.label == "admin"
    with pytest.raises(ValueError, match="unknown role 'owner'"):
        Role.parse("owner")


def test_a_user_can_what_their_role_and_the_lower_ones_can() -> None:
    viewer = access.User(actor="v@example.com", role=Role.VIEWER)
    admin = access.User(actor="a@example.com", role=Role.ADMIN)
    nobody = access.User(actor="anonymous", role=None, status="signed_out")
    assert viewer.can(Role.VIEWER) and not viewer.can(Role.ANALYST) and not viewer.sees_pii
    assert admin.can(Role.VIEWER) and admin.can(Role.ANALYST) and admin.sees_pii
    assert not nobody.allowed and not nobody.can(Role.VIEWER) and nobody.role_label == "none"


# -- matching ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "entry", "expected"),
    [
        ("ann@example.com", "@example.com", True),
        ("Ann@EXAMPLE.com", "@example.com", True),
        ("  ann@example.com ", "@example.com", True),
        ("ann@evil-example.com", "@example.com", False),
        ("ann@example.com.evil.org", "@example.com", False),
        ("ann@sub.example.com", "@example.com", False),
        ("ann@example.co", "@example.com", False),
        ("example.com@evil.org", "@example.com", False),
        ('"x@example.com"@evil.org', "@example.com", False),
        ("ann@example.com", "ann@example.com", True),
        ("ANN@example.com", "ann@example.com", True),
        ("anne@example.com", "ann@example.com", False),
        ("ann@example.com.evil.org", "ann@example.com", False),
        ("", "@example.com", False),
        ("example.com", "@example.com", False),
    ],
)
def test_entry_matching(email: str, entry: str, expected: bool) -> None:
    assert entry_matches(email, entry) is expected


def test_the_highest_role_wins_and_analysts_and_admins_need_no_allow_entry() -> None:
    s = AccessSettings.from_toml(
        'allow = ["@example.com"]\n'
        'analysts = ["ana@example.com", "@partner.org"]\n'
        'admins = ["Boss@Example.com"]\n'
    )
    assert s.role_for("someone@example.com") is Role.VIEWER
    assert s.role_for("ana@example.com") is Role.ANALYST
    assert s.role_for("consultant@partner.org") is Role.ANALYST  # not in allow: still in
    assert s.role_for("boss@example.com") is Role.ADMIN
    assert s.role_for("x@evil-example.com") is None
    assert s.role_for(None) is None and s.role_for("") is None


# -- parsing and validation -------------------------------------------------------------


def test_entries_are_normalised_and_deduplicated() -> None:
    s = AccessSettings.from_toml('allow = [" @Example.COM ", "@example.com", "A@B.org"]')
    assert s.allow == ("@example.com", "a@b.org")
    assert s.analysts == () and s.admins == () and not s.empty
    assert AccessSettings.from_toml("").empty


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("allow = [", "is not valid TOML"),
        ('allowed = ["@example.com"]', "unknown key 'allowed'"),
        ("[allow]\nx = 1", "allow must be a list"),
        ('allow = "@example.com"', "allow must be a list"),
        ("admins = [1]", "admins: entries must be text"),
        ('analysts = ["example.com"]', "analysts: 'example.com' is neither an e-mail address"),
        ('allow = ["@"]', "neither an e-mail address"),
        ('allow = ["a@@example.com"]', "neither an e-mail address"),
        ('allow = ["a b@example.com"]', "neither an e-mail address"),
        ('allow = ["*"]', "neither an e-mail address"),
        ('allow = ["@example.com."]', "neither an e-mail address"),
        ('allow = ["a@example.com, b@example.com"]', "neither an e-mail address"),
    ],
)
def test_a_bad_file_is_refused_naming_the_file_and_the_key(text: str, words: str) -> None:
    with pytest.raises(AccessSettingsError) as err:
        AccessSettings.from_toml(text, "/etc/pricewar/access.toml")
    assert "/etc/pricewar/access.toml" in str(err.value)
    assert words in str(err.value)


def test_environment_lists_add_to_the_file(
    tmp_path: Path, no_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "access.toml", 'allow = ["@example.com"]\n')
    monkeypatch.setenv(access.ACCESS_FILE_ENV, str(path))
    monkeypatch.setenv("PRICEWAR_ALLOW", " guest@gmail.com , ,")
    monkeypatch.setenv("PRICEWAR_ANALYSTS", "ana@example.com")
    monkeypatch.setenv("PRICEWAR_ADMINS", "@admins.example.org,boss@example.com")
    s = access.settings()
    assert s.allow == ("@example.com", "guest@gmail.com")
    assert s.role_for("guest@gmail.com") is Role.VIEWER
    assert s.role_for("ana@example.com") is Role.ANALYST
    assert s.role_for("root@admins.example.org") is Role.ADMIN
    assert str(path) in s.source and "PRICEWAR_ADMINS" in s.source


def test_a_bad_environment_entry_names_the_variable(
    no_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRICEWAR_ANALYSTS", "ana@example.com;bob@example.com")
    with pytest.raises(AccessSettingsError, match="PRICEWAR_ANALYSTS"):
        access.settings()


def test_without_a_file_only_the_environment_counts(
    no_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(access, "DEFAULT_ACCESS_FILE", tmp_path / "missing.toml")
    assert access.settings().empty
    monkeypatch.setenv("PRICEWAR_ALLOW", "a@example.com")
    assert access.settings().role_for("a@example.com") is Role.VIEWER


def test_a_named_file_must_exist(
    no_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(access.ACCESS_FILE_ENV, str(tmp_path / "typo.toml"))
    with pytest.raises(AccessSettingsError, match=r"typo\.toml: no such file"):
        access.settings()


def test_an_edited_file_takes_effect_without_restart(
    no_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "access.toml", 'allow = ["a@example.com"]\n')
    monkeypatch.setenv(access.ACCESS_FILE_ENV, str(path))
    first = access.settings()
    assert access.settings() is first  # cached while the file is unchanged
    write(path, 'allow = ["a@example.com"]\nadmins = ["b@example.com"]\n')
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert access.settings().role_for("b@example.com") is Role.ADMIN
    write(path, "allow = [\n")  # a broken edit: refused, naming the file
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000))
    with pytest.raises(AccessSettingsError, match="is not valid TOML"):
        access.settings()


def test_an_oversized_file_is_refused(
    no_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "access.toml", "# " + "x" * access.MAX_ACCESS_FILE_BYTES + "\n")
    monkeypatch.setenv(access.ACCESS_FILE_ENV, str(path))
    with pytest.raises(AccessSettingsError, match="is it the right file"):
        access.settings()


def test_the_shipped_example_is_valid() -> None:
    example = Path(access.ROOT) / ".streamlit" / "access.toml.example"
    s = AccessSettings.from_toml(example.read_text(encoding="utf-8"), str(example))
    assert s.role_for("someone@example.com") is Role.VIEWER
    assert s.role_for("it-admin@example.com") is Role.ADMIN


# -- the server's mode ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        (None, False),
        ("10.0.0.5", False),
        ("pricewar.example.com", False),
        ("localhost.evil.org", False),
    ],
)
def test_loopback_addresses(address: str | None, loopback: bool) -> None:
    assert access.is_loopback(address) is loopback


def test_the_project_config_listens_on_loopback_only() -> None:
    import tomllib

    config = tomllib.loads((Path(access.ROOT) / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    ignored = (Path(access.ROOT) / ".gitignore").read_text().splitlines()
    assert ".streamlit/secrets.toml" in ignored and ".streamlit/access.toml" in ignored


def test_local_actor_names_the_os_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access.getpass, "getuser", lambda: "maria")
    assert access.local_actor() == "local:maria"
