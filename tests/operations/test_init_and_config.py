"""``init``, ``hash-password``, ``config check`` and ``config show`` as a user runs them."""

from __future__ import annotations

import re
import socket
import tomllib
from pathlib import Path

from werkzeug.security import check_password_hash

from bot.cli.template import config_text
from bot.config import load_settings
from bot.config.schema import section_keys, sections
from tests.operations.conftest import Run
from tests.rocketchat_server import Simulator


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def test_init_writes_a_configuration_that_passes_the_check_and_creates_nothing(
        run: Run, tmp_path: Path) -> None:
    done = run("init", str(tmp_path / "site"))
    assert done.returncode == 0, done.stderr
    site = tmp_path / "site"
    password = re.search(r"^admin password: (\S+)$", done.stdout, re.M)
    assert password, done.stdout
    text = (site / "atsd-bot.toml").read_text()
    assert password.group(1) not in text  # only its hash is kept
    config = tomllib.loads(text)
    admin = config["users"][0]
    assert admin["name"] == "admin" and admin["roles"] == ["admin", "api"]
    assert check_password_hash(admin["password_hash"], password.group(1))
    assert len(config["http"]["secret_key"]) >= 32
    assert config["database"]["url"] == "sqlite:///atsd-bot.db"
    assert (site / "atsd-bot.toml").stat().st_mode & 0o077 == 0
    before = _files(site)
    checked = run("config", "check", "--config", str(site / "atsd-bot.toml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    lines = checked.stdout.splitlines()
    assert all(line.startswith("ok ") for line in lines[:-1]) and lines[-1] == \
        "all checks passed"
    assert any(line.startswith("ok       rules: 1 from") for line in lines)
    assert _files(site) == before  # no database, no journal, nothing


def test_init_refuses_to_overwrite_unless_forced(run: Run, tmp_path: Path) -> None:
    assert run("init", str(tmp_path)).returncode == 0
    first = (tmp_path / "atsd-bot.toml").read_text()
    again = run("init", str(tmp_path))
    assert again.returncode == 2
    assert again.stderr.strip() == (f"atsd-bot: {tmp_path / 'atsd-bot.toml'} exists; init "
                                    "leaves it alone (--force overwrites it, with a new admin "
                                    "password)")
    assert (tmp_path / "atsd-bot.toml").read_text() == first
    forced = run("init", str(tmp_path), "--force")
    assert forced.returncode == 0 and (tmp_path / "atsd-bot.toml").read_text() != first


def test_init_in_an_unwritable_place_is_one_line_and_exit_10(run: Run, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    done = run("init", str(blocker / "site"))
    assert done.returncode == 10, done.stderr
    assert done.stderr.count("\n") == 1 and f"cannot write {blocker / 'site'}" in done.stderr


def test_the_template_shows_every_section_and_key_and_loads(tmp_path: Path) -> None:
    text = config_text(name="atsd-bot.toml", admin_hash="scrypt:x", secret_key="k" * 40)
    for section, shape in sections().items():
        heading = {"array": rf"\[\[{section}\]\]", "named": rf"# \[{section}\.\w+\]"}.get(
            shape, rf"(# )?\[{section}\]")
        assert re.search(rf"^{heading}$", text, re.M), section
        for key in section_keys(section):
            assert re.search(rf"^(# )?{key} = ", text, re.M) or key == "name", (section, key)
    path = tmp_path / "atsd-bot.toml"
    path.write_text(text)
    settings = load_settings(path, environ={})
    assert settings.database.url == f"sqlite:///{tmp_path / 'atsd-bot.db'}"


def test_hash_password_reads_standard_input_and_prints_only_the_hash(run: Run) -> None:
    done = run("hash-password", stdin="s3cret pass\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1
    assert check_password_hash(done.stdout.strip(), "s3cret pass")
    empty = run("hash-password", stdin="\n")
    assert empty.returncode == 2 and "empty password" in empty.stderr


def _config(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "atsd-bot.toml"
    path.write_text(f'[database]\nurl = "sqlite:///db/atsd.db"\n[http]\nport = 0\n{extra}')
    return path


def test_config_check_names_each_problem_and_its_fix(run: Run, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = _config(tmp_path, '[rules]\npaths = ["missing.d"]\n')
        config.write_text(config.read_text().replace("port = 0", f"port = {port}"))
        done = run("config", "check", "--config", str(config),
                   env={"ATSD_BOT_HTTP_PROT": "1"})
    assert done.returncode == 1, done.stdout + done.stderr
    problems = [line for line in done.stdout.splitlines() if line.startswith("problem")]
    assert "warning  environment: ATSD_BOT_HTTP_PROT: not a setting" in done.stdout
    assert any("no [[users]]" in p for p in problems)
    missing = [p for p in problems if f"{tmp_path / 'missing.d'}: file or folder not found" in p]
    assert len(missing) == 1 and missing[0].endswith(
        "create it or fix the path (rules.paths is relative to the configuration file)")
    assert any(f"127.0.0.1:{port}" in p and "the port is taken" in p for p in problems)
    assert done.stdout.splitlines()[-1] == f"{len(problems)} problem(s) found (1 warning(s))"
    assert not (tmp_path / "db").exists()


def test_an_unknown_variable_is_a_warning_not_a_problem(run: Run, tmp_path: Path) -> None:
    (tmp_path / "rules.d").mkdir()
    (tmp_path / "rules.d" / "r.yml").write_text(
        "rules:\n  - name: r\n    window: length(1)\n    condition: 'true'\n")
    config = _config(tmp_path, '[rules]\npaths = ["rules.d"]\n[[users]]\nname = "ops"\n'
                               'password = "ops-pass-1"\nroles = ["admin"]\n')
    env = {"ATSD_BOT_FOO_BAR": "1"}
    done = run("config", "check", "--config", str(config), env=env)
    assert done.returncode == 0, done.stdout
    assert ("warning  environment: ATSD_BOT_FOO_BAR: not a setting (no such section or key); "
            "ignored.") in done.stdout
    assert done.stdout.splitlines()[-1] == "all checks passed (1 warning(s))"
    shown = run("config", "show", "--config", str(config), env=env)
    assert shown.returncode == 0
    assert shown.stderr.startswith("atsd-bot: warning: ATSD_BOT_FOO_BAR: not a setting")
    assert "ATSD_BOT_FOO_BAR" not in shown.stdout


def test_config_check_of_a_bad_file_stops_at_the_key(run: Run, tmp_path: Path) -> None:
    config = _config(tmp_path, "[http2]\n")
    done = run("config", "check", "--config", str(config))
    assert done.returncode == 1
    assert "problem  settings: unknown section [http2]" in done.stdout


def test_config_check_takes_the_file_from_the_environment(run: Run, tmp_path: Path) -> None:
    config = _config(tmp_path, "[http3]\n")
    done = run("config", "check", env={"ATSD_BOT_CONFIG": str(config)})
    assert done.returncode == 1 and "unknown section [http3]" in done.stdout


def test_config_show_gives_each_value_its_source_and_masks_secrets(run: Run,
                                                                   tmp_path: Path) -> None:
    config = _config(tmp_path, '[[users]]\nname = "ops"\npassword = "file-secret-1"\n'
                               '[webhook.tokens]\n"rocket.chat" = "token-secret-1"\n')
    done = run("config", "show", "--config", str(config),
               env={"ATSD_BOT_HTTP_THREADS": "3", "ATSD_BOT_ROCKETCHAT_URL": "http://rc:3000",
                    "ATSD_BOT_ROCKETCHAT_USER": "atsd_bot",
                    "ATSD_BOT_ROCKETCHAT_PASSWORD": "123456"})
    assert done.returncode == 0, done.stderr
    shown = {line.split(" = ")[0]: line for line in done.stdout.splitlines()}
    assert shown["http.threads"].endswith("# environment ATSD_BOT_HTTP_THREADS")
    assert shown["http.port"].startswith("http.port = 0 ") and \
        shown["http.port"].endswith(f"# file {config}")
    assert shown["http.host"].endswith("# default")
    assert f"sqlite:///{tmp_path / 'db' / 'atsd.db'}" in shown["database.url"]
    assert shown["users.ops.password"].startswith("users.ops.password = ***")
    assert '{"rocket.chat": "***"}' in shown["webhook.tokens"]
    assert shown["rocketchat.password"].startswith("rocketchat.password = ***")
    for secret in ("file-secret-1", "token-secret-1", "123456"):
        assert secret not in done.stdout


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_config_check_reaches_rocketchat_and_names_what_it_refuses(
        run: Run, tmp_path: Path, rc_server: Simulator) -> None:
    rc_server.create_user("atsd_bot", "right-pass-1", roles=("bot",))
    (tmp_path / "rules.d").mkdir()
    (tmp_path / "rules.d" / "r.yml").write_text(
        "rules:\n  - name: r\n    window: length(1)\n    condition: 'true'\n")
    base = ('[http]\nport = 0\n[[users]]\nname = "ops"\npassword = "ops-pass-1"\n'
            'roles = ["admin"]\n[rocketchat]\nuser = "atsd_bot"\n')
    config = tmp_path / "atsd-bot.toml"
    config.write_text(base + f'url = "{rc_server.url}"\n')
    good = run("config", "check", "--config", str(config),
               env={"ATSD_BOT_ROCKETCHAT_PASSWORD": "right-pass-1"})
    assert good.returncode == 0, good.stdout
    assert f"ok       rocketchat: Rocket.Chat 8.8.1 at {rc_server.url}: logged in as atsd_bot " \
           "(roles: bot)" in good.stdout
    refused = run("config", "check", "--config", str(config),
                  env={"ATSD_BOT_ROCKETCHAT_PASSWORD": "wrong-pass-1"})
    assert refused.returncode == 1
    assert "problem  rocketchat: Rocket.Chat at " in refused.stdout
    assert "refused the login of atsd_bot; check rocketchat.user and rocketchat.password" \
        in refused.stdout
    config.write_text(base + f'url = "http://127.0.0.1:{_closed_port()}"\n')
    down = run("config", "check", "--config", str(config),
               env={"ATSD_BOT_ROCKETCHAT_PASSWORD": "right-pass-1"})
    assert down.returncode == 1
    assert "does not answer (connection refused); check rocketchat.url" in down.stdout
