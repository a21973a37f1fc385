"""Where a returning API call spends its CPU: cProfile over many calls, by bearer JWT and by session.

    .venv/bin/python bench/profile_returning_call.py [--calls 400] [--top 25]

The same set-up as ``sign_in_paths.py``'s returning calls (a Keycloak-shaped issuer on loopback, known
and onboarded users, ``GET /api/v1/users/me`` through Django's handler in this process), then each kind
of call profiled on its own with the process's CPU clock, so other work on the machine does not show up
as time spent here. Like ``bench/run.py``, it drops, creates and migrates the scratch database
``BENCH_DATABASE_URL`` names and runs with production settings.
"""

import argparse
import cProfile
import io
import pstats
import time
import uuid

from scratch import recreate_database, scratch_url, setup_django


def profiled(action, calls: int, top: int) -> str:
    """cProfile's figures, by cumulative CPU time, then what the bearer authentication calls."""
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for _ in range(calls):
        action()
    profile.disable()
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.print_callees(r"authentication.py.*\((authenticate|_authenticate_token)\)")
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400, help="calls of each kind to profile")
    parser.add_argument("--top", type=int, default=25, help="functions to show, by cumulative CPU time")
    args = parser.parse_args()
    url = scratch_url()
    recreate_database(url)
    setup_django(url)

    from django.conf import settings
    from sign_in_paths import access_token, client, me

    from accounts.models import User
    from tests.signin import KeycloakIssuer, point_settings_at, serve_in_thread

    issuer = KeycloakIssuer()
    issuer.add_key()
    server = serve_in_thread(issuer.wsgi)
    issuer.base_url = server.url
    point_settings_at(settings, issuer.url)
    try:
        sub = f"bench-profile-{uuid.uuid4().hex[:12]}"
        token = access_token(issuer, sub)
        api = client()
        me(api, token)  # signs the user up and onboards them
        session = client()
        session.force_login(User.objects.get(sub=sub))
        for _ in range(20):  # connection, caches
            me(api, token)
            me(session)
        cpu = {}
        for name, action in (("bearer JWT", lambda: me(api, token)), ("session", lambda: me(session))):
            started = time.process_time()
            for _ in range(args.calls):
                action()
            cpu[name] = (time.process_time() - started) * 1000 / args.calls
        for name, action in (("bearer JWT", lambda: me(api, token)), ("session", lambda: me(session))):
            print(f"=== {name}: {args.calls} calls, CPU clock ===")
            print(profiled(action, args.calls, args.top))
        print("CPU per call, unprofiled: " + ", ".join(f"{name} {ms:.2f} ms" for name, ms in cpu.items()))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
