"""The quickstart page's curl commands, read off the page and run as curl would send them: they must take a
sandbox-basic app from client credentials to the customer's accounts."""

from __future__ import annotations

import html
import re
import shlex

from gateway.portal.quickstart import sandbox_basic_quickstart
from tests.gateway import portal_helpers

developers = portal_helpers.developers  # the fixture


def shown_blocks(page: str, test_id: str) -> list[str]:
    return [html.unescape(b) for b in re.findall(rf'<pre[^>]*data-test="{test_id}">(.*?)</pre>', page, re.S)]


def exported(block: str) -> dict[str, str]:
    variables = {}
    for line in block.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        variables[name] = shlex.split(value)[0]
    return variables


def expand(text: str, variables: dict[str, str]) -> str:
    return re.sub(r"\$([A-Z_]+)", lambda m: variables[m.group(1)], text)


def run_curl(stack, shown: str, variables: dict[str, str]) -> tuple[int, dict]:
    """Do what the shell and curl do with one shown step; keep the captured variable, as `VAR=$(...)` does."""
    captured = re.fullmatch(r"(\w+)=\$\((.*)\)\necho \$\1", shown, re.S)
    variable, shown = (captured.group(1), captured.group(2)) if captured else (None, shown)
    command, jq = shown.split(" | jq ", 1)
    args = shlex.split(expand(command.replace("\\\n", " "), variables))
    assert args[:2] == ["curl", "-s"]
    method, url, headers, form, body = "GET", None, {}, {}, None
    index = 2
    while index < len(args):
        arg = args[index]
        if arg in ("-X", "-u", "-H", "--data-urlencode", "-d"):
            value = args[index + 1]
            index += 2
            if arg == "-X":
                method = value
            elif arg == "-u":
                import base64

                headers["Authorization"] = "Basic " + base64.b64encode(value.encode()).decode()
            elif arg == "-H":
                name, _, header_value = value.partition(": ")
                headers[name] = header_value
            elif arg == "--data-urlencode":
                name, _, field_value = value.partition("=")
                form[name] = field_value
            else:
                body = value
        else:
            url, index = arg, index + 1
    assert url.startswith(variables["ISSUER"])
    response = stack.gateway.request(method, url.removeprefix(variables["ISSUER"]), headers=headers,
                                     data=form or None, content=body)  # fmt: skip
    assert response.status_code < 300, (shown, response.text)
    if variable:
        expression = shlex.split("jq " + jq)[2]
        found = re.fullmatch(r'\.(\S+) \| capture\("(.*)"\)\.v', expression)
        value = response.json()
        for member in (found.group(1) if found else expression.removeprefix(".")).split("."):
            value = value[member]
        if found:
            value = re.search(found.group(2).replace("(?<v>", "(?P<v>"), value).group("v")
        variables[variable] = value
    return response.status_code, response.json()


def test_the_quickstart_curl_steps_run_as_shown_and_reach_the_customers_accounts(stack, developers):
    developer = developers()
    created = developer.post("/portal/apps", {"name": "curl app", "profile": "sandbox-basic",
                                              "redirect_uris": "http://127.0.0.1:8080/callback"},
                             csrf_from="/portal/apps/new")  # fmt: skip
    secret = re.search(r'id="client-secret">([^<]+)<', created.text).group(1)
    page = developer.browser.get("/portal/quickstart").text
    variables = exported(shown_blocks(page, "quickstart-exports")[0])
    assert variables["INITIAL_ACCESS_TOKEN"] == developer.initial_access_token
    assert variables["CLIENT_SECRET"] == "paste-your-client-secret"  # shown once at creation, never kept
    variables["CLIENT_SECRET"] = secret  # what the developer pastes in
    steps = shown_blocks(page, "quickstart-step")
    assert len(steps) == 5
    results = [run_curl(stack, step, variables) for step in steps]
    status, accounts = results[-1]
    assert status == 200 and accounts["Data"]["Account"], accounts
    assert {"APP_TOKEN", "CONSENT_ID", "CODE", "ACCESS_TOKEN"} <= set(variables)


def test_the_page_shows_the_steps_the_template_data_defines(stack, developers):
    developer = developers()
    assert 'id="quickstart-no-app"' in developer.browser.get("/portal/quickstart").text
    developer.post("/portal/apps", {"name": "curl app", "profile": "sandbox-basic",
                                    "redirect_uris": "http://127.0.0.1:8080/callback"}, csrf_from="/portal/apps/new")  # fmt: skip
    page = developer.browser.get("/portal/quickstart").text
    data = sandbox_basic_quickstart("http://x", "t", "c", "s", "http://127.0.0.1:8080/callback")
    shown = shown_blocks(page, "quickstart-step")
    # Same commands apart from the per-page PKCE pair, which lives in the exports.
    assert [s for s in shown] == [step.curl() for step in data.steps]
    assert "examples.partner_fapi2" in page
