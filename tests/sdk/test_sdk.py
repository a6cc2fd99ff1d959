"""Drives a running tally gateway with the official `openai` and `anthropic`
Python SDKs, as a customer's code would.

Run by `crates/tally/tests/sdk.rs`, which starts the mock provider and
`tally serve`, creates the keys, and afterwards checks every recorded event
against the JSON summary this script prints on standard output (the only
thing it prints there; diagnostics go to standard error).

Environment:
  TALLY_SDK_BASE_URL      the gateway, e.g. http://127.0.0.1:PORT (no /v1)
  TALLY_SDK_KEY           a tally API key used for most calls
  TALLY_SDK_SECOND_KEY    a second key: one call, then revoked, then refused
  TALLY_SDK_SECOND_KEY_ID its id, for the management API
  TALLY_SDK_ADMIN_TOKEN   a personal access token (tlp_...) allowed to revoke it

Every call sends `X-Title: sdk-<name>`, so the gateway records the call's
name as the event's app and the Rust side can match events to calls
exactly. Clients have max_retries=0: an injected error must reach the
caller as one request and one event. The request bodies are captured as
the SDK sent them (an httpx request hook), so the expected token counts are
computed from exactly what went over the wire.
"""

import json
import math
import os
import sys
import time
import urllib.parse
import urllib.request

import anthropic
import openai

BASE = os.environ["TALLY_SDK_BASE_URL"].rstrip("/")
KEY = os.environ["TALLY_SDK_KEY"]
SECOND_KEY = os.environ["TALLY_SDK_SECOND_KEY"]
SECOND_KEY_ID = os.environ["TALLY_SDK_SECOND_KEY_ID"]
ADMIN_TOKEN = os.environ["TALLY_SDK_ADMIN_TOKEN"]

# The mock's reply: up to 24 words, one token each, always starting so.
REPLY_START = "This is a deterministic reply"
FULL_REPLY_TOKENS = 24

calls = []
# (call name, x-tally-request-id, end user sent): found again in the request
# log, with the tags of `tagged(name)`.
logged = []
_sent = []  # (path, body) of every request, in order, from the hook


def _capture(request):
    request.read()
    body = json.loads(request.content) if request.content else None
    _sent.append((request.url.path, body))


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def check_eq(actual, expected, what):
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def openai_client(key):
    return openai.OpenAI(
        base_url=BASE + "/v1",
        api_key=key,
        max_retries=0,
        timeout=20.0,
        http_client=openai.DefaultHttpxClient(event_hooks={"request": [_capture]}),
    )


def anthropic_client(key):
    return anthropic.Anthropic(
        base_url=BASE,
        api_key=key,
        max_retries=0,
        timeout=20.0,
        http_client=anthropic.DefaultHttpxClient(event_hooks={"request": [_capture]}),
    )


def title(name):
    return {"X-Title": f"sdk-{name}"}


def tagged(name):
    """The app title and tags a logged call sends (tally's x-tally-tags)."""
    return {**title(name), "x-tally-tags": f"team=sdk, feature={name}"}


def record(name, sdk, key, status, usage=None, text=None):
    """Notes a finished call with the one request the SDK sent for it."""
    check_eq(len(_sent), 1, f"{name}: requests sent by the SDK (no retries)")
    path, body = _sent.pop()
    calls.append(
        {
            "name": name,
            "sdk": sdk,
            "key": key,
            "path": path,
            "body": body,
            "status": status,
            "usage": usage,
            "text": text,
        }
    )


def openai_usage(u):
    if u is None:
        return None
    details = u.prompt_tokens_details
    return {
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": getattr(u, "completion_tokens", None),
        "total_tokens": u.total_tokens,
        "cached_tokens": details.cached_tokens if details is not None else None,
    }


def anthropic_usage(u):
    return {
        "input_tokens": u.input_tokens,
        "output_tokens": u.output_tokens,
        "cache_read_input_tokens": u.cache_read_input_tokens,
        "cache_creation_input_tokens": u.cache_creation_input_tokens,
    }


def check_reply(name, text, tokens):
    start = REPLY_START[: len(text)] if tokens < 5 else REPLY_START
    check(text.startswith(start), f"{name}: unexpected reply {text!r}")
    check_eq(len(text.split(" ")), tokens, f"{name}: words in the reply")


def openai_calls():
    client = openai_client(KEY)

    name = "openai-chat"
    raw = client.chat.completions.with_raw_response.create(
        user="alice@example.com",
        model="openai/gpt-4o-mini",
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Say hello to the gateway, please."},
        ],
        temperature=0.2,
        extra_headers=tagged(name),
    )
    logged.append((name, raw.headers.get("x-tally-request-id"), "alice@example.com"))
    r = raw.parse()
    text = r.choices[0].message.content
    check_eq(r.choices[0].finish_reason, "stop", f"{name}: finish_reason")
    check_eq(r.usage.completion_tokens, FULL_REPLY_TOKENS, f"{name}: completion_tokens")
    check_eq(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens, f"{name}: total")
    check_reply(name, text, r.usage.completion_tokens)
    record(name, "openai", "main", 200, openai_usage(r.usage), text)
    whole_reply = text

    # A bare model name (routed through the price catalog), streamed, without
    # asking for usage: the gateway asks upstream for it on the client's
    # behalf and must hide the usage-only chunk the client did not ask for.
    name = "openai-chat-stream"
    stream = client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Stream a reply through tally."}],
        stream=True,
        extra_headers=title(name),
    )
    parts = []
    chunks = 0
    for chunk in stream:
        chunks += 1
        check(len(chunk.choices) > 0, f"{name}: a chunk without choices reached the client")
        check(chunk.usage is None, f"{name}: usage reached a client that did not ask for it")
        parts.append(chunk.choices[0].delta.content or "")
    text = "".join(parts)
    check(chunks > FULL_REPLY_TOKENS, f"{name}: only {chunks} chunks")
    check_eq(text, whole_reply, f"{name}: streamed text")
    record(name, "openai", "main", 200, None, text)

    # Streamed with usage asked for, a token limit, and cached prompt tokens.
    name = "openai-chat-stream-usage"
    stream = client.chat.completions.create(
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": "mock:cache Tell me about prompt caching."}],
        max_tokens=5,
        stream=True,
        stream_options={"include_usage": True},
        extra_headers=title(name),
    )
    parts = []
    usage = None
    finish = None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            parts.append(choice.delta.content or "")
            finish = choice.finish_reason or finish
    text = "".join(parts)
    check(usage is not None, f"{name}: no usage chunk")
    check_eq(finish, "length", f"{name}: finish_reason")
    check_eq(usage.completion_tokens, 5, f"{name}: completion_tokens")
    check(usage.prompt_tokens_details.cached_tokens > 0, f"{name}: no cached tokens")
    check_reply(name, text, 5)
    record(name, "openai", "main", 200, openai_usage(usage), text)

    # The SDK asks for base64 by default and decodes it into floats.
    name = "openai-embeddings"
    r = client.embeddings.create(
        model="openai/text-embedding-3-small",
        input=["tally records every request", "and prices it exactly"],
        extra_headers=title(name),
    )
    check_eq(len(r.data), 2, f"{name}: vectors")
    for item in r.data:
        check_eq(len(item.embedding), 8, f"{name}: dimensions")
        norm = math.sqrt(sum(x * x for x in item.embedding))
        check(abs(norm - 1.0) < 1e-4, f"{name}: not unit length ({norm})")
    check(r.data[0].embedding != r.data[1].embedding, f"{name}: identical vectors")
    check_eq(r.usage.total_tokens, r.usage.prompt_tokens, f"{name}: total")
    record(name, "openai", "main", 200, {"prompt_tokens": r.usage.prompt_tokens, "total_tokens": r.usage.total_tokens})

    # An upstream error reaches the SDK as its own exception type, once.
    name = "openai-upstream-429"
    try:
        client.chat.completions.create(
            model="openai/gpt-4o-mini",
            messages=[{"role": "user", "content": "please fail mock:error=429"}],
            extra_headers=title(name),
        )
        raise AssertionError(f"{name}: no error raised")
    except openai.RateLimitError as e:
        check_eq(e.status_code, 429, f"{name}: status")
        check_eq(e.response.headers.get("retry-after"), "1", f"{name}: retry-after passed back")
        record(name, "openai", "main", e.status_code)


def anthropic_calls():
    client = anthropic_client(KEY)

    name = "anthropic-messages"
    raw = client.messages.with_raw_response.create(
        metadata={"user_id": "bob-42"},
        model="anthropic/claude-sonnet-4-5",
        max_tokens=12,
        system="You are a careful assistant.",
        messages=[
            {"role": "user", "content": "Hello, Claude."},
            {"role": "assistant", "content": "Hello."},
            {"role": "user", "content": [{"type": "text", "text": "Count the tokens, please."}]},
        ],
        extra_headers=tagged(name),
    )
    logged.append((name, raw.headers.get("x-tally-request-id"), "bob-42"))
    m = raw.parse()
    check_eq(m.type, "message", f"{name}: type")
    check_eq(m.stop_reason, "max_tokens", f"{name}: stop_reason")
    check_eq(m.usage.output_tokens, 12, f"{name}: output_tokens")
    text = m.content[0].text
    check_reply(name, text, 12)
    record(name, "anthropic", "main", 200, anthropic_usage(m.usage), text)

    # A bare model name, streamed through the SDK's helper, with cache use.
    name = "anthropic-messages-stream"
    with client.messages.stream(
        model="claude-haiku-4-5",
        max_tokens=64,
        messages=[{"role": "user", "content": "mock:cache Stream a longer answer, please."}],
        extra_headers=title(name),
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    check_eq(final.stop_reason, "end_turn", f"{name}: stop_reason")
    check_eq(final.content[0].text, text, f"{name}: final message text")
    check_eq(final.usage.output_tokens, FULL_REPLY_TOKENS, f"{name}: output_tokens")
    check(final.usage.cache_read_input_tokens > 0, f"{name}: no cache reads")
    check(final.usage.cache_creation_input_tokens > 0, f"{name}: no cache writes")
    check_reply(name, text, FULL_REPLY_TOKENS)
    record(name, "anthropic", "main", 200, anthropic_usage(final.usage), text)

    name = "anthropic-upstream-500"
    try:
        client.messages.create(
            model="anthropic/claude-sonnet-4-5",
            max_tokens=12,
            messages=[{"role": "user", "content": "mock:error=500"}],
            extra_headers=title(name),
        )
        raise AssertionError(f"{name}: no error raised")
    except anthropic.InternalServerError as e:
        check_eq(e.status_code, 500, f"{name}: status")
        check_eq(e.body["error"]["type"], "api_error", f"{name}: error type")
        record(name, "anthropic", "main", e.status_code)


def api_send(method, path, body=None, status=200):
    """Calls the management API as the owner; returns the JSON answer (2xx only)."""
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(BASE + path, method=method, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=20) as response:
        check_eq(response.status, status, f"{method} {path}: status")
        return json.load(response)


def revoke(key_id):
    view = api_send("POST", f"/api/api-keys/{key_id}/revoke")
    check_eq(view["status"], "revoked", "revoke: key status")


def limit(key_id, body):
    view = api_send("PATCH", f"/api/api-keys/{key_id}", body)
    check_eq(view["requestsPerMinute"], body["requestsPerMinute"], "limit: key view")


def revocation_calls():
    second_openai = openai_client(SECOND_KEY)
    second_anthropic = anthropic_client(SECOND_KEY)

    # One request a minute: the next call passes, the two after it are
    # refused as the SDKs expect a rate limit to be (429, retry-after).
    limit(SECOND_KEY_ID, {"requestsPerMinute": 1})

    name = "second-key-before-revoke"
    r = second_openai.chat.completions.create(
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": "One call before my key is revoked."}],
        max_tokens=3,
        extra_headers=title(name),
    )
    check_reply(name, r.choices[0].message.content, 3)
    record(name, "openai", "second", 200, openai_usage(r.usage), r.choices[0].message.content)

    name = "limited-openai"
    try:
        second_openai.chat.completions.create(
            model="openai/gpt-4o-mini",
            messages=[{"role": "user", "content": "Once more, right away."}],
            extra_headers=title(name),
        )
        raise AssertionError(f"{name}: a request over the limit was admitted")
    except openai.RateLimitError as e:
        check_eq(e.status_code, 429, f"{name}: status")
        check_eq(e.code, "rate_limit_exceeded", f"{name}: code")
        check("1 requests per minute" in e.message, f"{name}: message {e.message}")
        check(int(e.response.headers["retry-after"]) >= 1, f"{name}: retry-after")
        check_eq(e.response.headers["x-ratelimit-limit-requests"], "1", f"{name}: limit header")
        check_eq(e.response.headers["x-ratelimit-remaining-requests"], "0", f"{name}: remaining header")
        record(name, "openai", "second", e.status_code)

    name = "limited-anthropic"
    try:
        second_anthropic.messages.create(
            model="anthropic/claude-sonnet-4-5",
            max_tokens=12,
            messages=[{"role": "user", "content": "And once more."}],
            extra_headers=title(name),
        )
        raise AssertionError(f"{name}: a request over the limit was admitted")
    except anthropic.RateLimitError as e:
        check_eq(e.status_code, 429, f"{name}: status")
        check_eq(e.body["error"]["type"], "rate_limit_error", f"{name}: error type")
        record(name, "anthropic", "second", e.status_code)

    # A budget the key has already spent: lift the rate limit, and the
    # next calls are refused by the budget, as the SDKs see a spent quota.
    limit(SECOND_KEY_ID, {"requestsPerMinute": None})
    org = api_send("GET", f"/api/api-keys/{SECOND_KEY_ID}")["organizationId"]
    budget = api_send(
        "POST",
        f"/api/organizations/{org}/budgets",
        {"scope": {"type": "apiKey", "id": SECOND_KEY_ID}, "amount": "0.000000001",
         "period": "day", "action": "block"},
        status=201,
    )
    check_eq(budget["current"]["status"], "blocked", "budget: status")

    name = "budget-openai"
    try:
        second_openai.chat.completions.create(
            model="openai/gpt-4o-mini",
            messages=[{"role": "user", "content": "Is there money left?"}],
            extra_headers=title(name),
        )
        raise AssertionError(f"{name}: a request over the budget was admitted")
    except openai.RateLimitError as e:
        check_eq(e.status_code, 429, f"{name}: status")
        check_eq(e.code, "budget_exceeded", f"{name}: code")
        check_eq(e.type, "insufficient_quota", f"{name}: type")
        check("budget of 0.000000001 USD per day (UTC) is spent" in e.message, f"{name}: message {e.message}")
        check("resets at" in e.message, f"{name}: message {e.message}")
        check(int(e.response.headers["retry-after"]) >= 1, f"{name}: retry-after")
        record(name, "openai", "second", e.status_code)

    name = "budget-anthropic"
    try:
        second_anthropic.messages.create(
            model="anthropic/claude-sonnet-4-5",
            max_tokens=12,
            messages=[{"role": "user", "content": "Is there money left here?"}],
            extra_headers=title(name),
        )
        raise AssertionError(f"{name}: a request over the budget was admitted")
    except anthropic.RateLimitError as e:
        check_eq(e.status_code, 429, f"{name}: status")
        check_eq(e.body["error"]["type"], "rate_limit_error", f"{name}: error type")
        check("budget" in e.body["error"]["message"], f"{name}: message")
        record(name, "anthropic", "second", e.status_code)

    revoke(SECOND_KEY_ID)

    # Revocation takes effect on the next request, in both SDKs.
    name = "revoked-openai"
    try:
        second_openai.chat.completions.create(
            model="openai/gpt-4o-mini",
            messages=[{"role": "user", "content": "Am I still allowed?"}],
            extra_headers=title(name),
        )
        raise AssertionError(f"{name}: a revoked key was accepted")
    except openai.AuthenticationError as e:
        check_eq(e.status_code, 401, f"{name}: status")
        check_eq(e.code, "invalid_api_key", f"{name}: code")
        record(name, "openai", "second", e.status_code)

    name = "revoked-anthropic"
    try:
        second_anthropic.messages.create(
            model="anthropic/claude-sonnet-4-5",
            max_tokens=12,
            messages=[{"role": "user", "content": "Am I still allowed?"}],
            extra_headers=title(name),
        )
        raise AssertionError(f"{name}: a revoked key was accepted")
    except anthropic.AuthenticationError as e:
        check_eq(e.status_code, 401, f"{name}: status")
        check_eq(e.body["error"]["type"], "authentication_error", f"{name}: error type")
        record(name, "anthropic", "second", e.status_code)


def api_get(path):
    req = urllib.request.Request(BASE + path, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def log_checks():
    """Finds each logged call in the request log by the id the gateway
    answered with, and by its end user. Events are written off the request
    path (a batch commits within milliseconds), so the first look may come
    early: the detail is asked again until it is there, for at most ten
    seconds."""
    for name, request_id, end_user in logged:
        check(request_id, f"{name}: no x-tally-request-id header")
        deadline = time.monotonic() + 10
        while True:
            status, d = api_get(f"/api/activity/{request_id}")
            if status != 404 or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        check_eq(status, 200, f"{name}: the request log's detail")
        check_eq(d["requestId"], request_id, f"{name}: request id")
        check_eq(d["endUser"], end_user, f"{name}: end user")
        check_eq(d["app"], f"sdk-{name}", f"{name}: app")
        check_eq(d["tags"], {"feature": name, "team": "sdk"}, f"{name}: tags")
        _, me = api_get("/api/me")
        org = me["organizations"][0]["id"]
        day = d["startedAtUtc"][:10]
        q = f"organizationId={org}&from={day}&to={day}&endUser={urllib.parse.quote(end_user)}"
        status, page = api_get(f"/api/activity?{q}")
        check_eq(status, 200, f"{name}: the log filtered by end user")
        check_eq([e["id"] for e in page["data"]], [request_id], f"{name}: requests of {end_user}")
        q = f"organizationId={org}&from={day}&to={day}&tag=feature:{name}"
        status, page = api_get(f"/api/activity?{q}")
        check_eq(status, 200, f"{name}: the log filtered by tag")
        check_eq([e["id"] for e in page["data"]], [request_id], f"{name}: requests tagged feature={name}")


def main():
    openai_calls()
    anthropic_calls()
    revocation_calls()
    check_eq(len(_sent), 0, "requests not accounted for")
    log_checks()
    summary = {
        "sdk": {"openai": openai.__version__, "anthropic": anthropic.__version__},
        "calls": calls,
        "logged": [{"name": n, "requestId": i, "endUser": u} for n, i, u in logged],
    }
    json.dump(summary, sys.stdout, indent=1)
    sys.stdout.write("\n")
    print(f"sdk: {len(calls)} calls made and checked", file=sys.stderr)


if __name__ == "__main__":
    main()
