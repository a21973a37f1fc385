from django.core.management import call_command


def test_check_warns_when_sign_in_is_not_configured(settings, capsys):
    settings.OIDC_ISSUER = ""

    call_command("check")

    assert "OIDC_ISSUER is not set: sign-in is disabled" in capsys.readouterr().err


def test_check_warns_when_the_client_is_missing(settings, capsys):
    settings.OIDC_ISSUER = "http://127.0.0.1:9400"
    settings.OIDC_CLIENT_ID = ""

    call_command("check")

    assert "OIDC_CLIENT_ID or OIDC_CLIENT_SECRET is empty" in capsys.readouterr().err


def test_check_is_quiet_when_sign_in_is_configured(settings, capsys):
    settings.OIDC_ISSUER = "http://127.0.0.1:9400"
    settings.OIDC_CLIENT_ID = "aether"
    settings.OIDC_CLIENT_SECRET = "secret"

    call_command("check")

    assert "accounts.W00" not in capsys.readouterr().err
