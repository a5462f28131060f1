"""Token usage in every upstream format (OpenAI chat, Anthropic Messages, OpenAI Responses) <-> `aco.records.Usage`,
and what a stream used so far (the bill of a stream the client cut off).

`Usage.input_tokens` is fresh input only: OpenAI's `prompt_tokens` include the cached and cache-written tokens,
Anthropic's `input_tokens` do not. Reasoning (thinking) tokens are part of the output tokens in every format.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from aco.records import Usage

CHARS_PER_TOKEN = 4.0  # the estimate used only when an upstream reports no usage (documented as an estimate)


def _int(mapping: Any, *path: str) -> int:
    value: Any = mapping
    for key in path:
        if not isinstance(value, Mapping):
            return 0
        value = value.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def from_chat(usage: Any) -> Usage | None:
    """OpenAI chat completions `usage` (also streamed with `stream_options.include_usage`)."""
    return _from_openai(usage, "prompt_tokens", "completion_tokens")


def _from_openai(usage: Any, input_key: str, output_key: str) -> Usage | None:
    """OpenAI's usage (chat: prompt/completion tokens; Responses: input/output tokens), whose input count includes
    the cached and cache-written tokens."""
    if not isinstance(usage, Mapping) or not isinstance(usage.get(input_key), int):
        return None
    cached = _int(usage, f"{input_key}_details", "cached_tokens")
    written = _int(usage, f"{input_key}_details", "cache_write_tokens")
    return Usage(input_tokens=max(_int(usage, input_key) - cached - written, 0),
                 output_tokens=_int(usage, output_key), cached_input_tokens=cached, cache_write_tokens=written,
                 reasoning_tokens=_int(usage, f"{output_key}_details", "reasoning_tokens"))


def to_chat(usage: Usage) -> dict[str, Any]:
    prompt = usage.input_tokens + usage.cached_input_tokens + usage.cache_write_tokens
    return {"prompt_tokens": prompt, "completion_tokens": usage.output_tokens,
            "total_tokens": prompt + usage.output_tokens,
            "prompt_tokens_details": {"cached_tokens": usage.cached_input_tokens,
                                      "cache_write_tokens": usage.cache_write_tokens},
            "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens}}


def from_anthropic(usage: Any) -> Usage | None:
    """Anthropic Messages `usage` (a response's, or `message_start`'s merged with `message_delta`'s)."""
    if not isinstance(usage, Mapping) or not isinstance(usage.get("output_tokens"), int):
        return None
    return Usage(input_tokens=_int(usage, "input_tokens"), output_tokens=_int(usage, "output_tokens"),
                 cached_input_tokens=_int(usage, "cache_read_input_tokens"),
                 cache_write_tokens=_int(usage, "cache_creation_input_tokens"),
                 reasoning_tokens=_int(usage, "output_tokens_details", "thinking_tokens"))


def to_anthropic(usage: Usage) -> dict[str, Any]:
    out: dict[str, Any] = {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
                           "cache_read_input_tokens": usage.cached_input_tokens,
                           "cache_creation_input_tokens": usage.cache_write_tokens}
    if usage.reasoning_tokens:
        out["output_tokens_details"] = {"thinking_tokens": usage.reasoning_tokens}
    return out


def from_responses(usage: Any) -> Usage | None:
    """OpenAI Responses `usage`."""
    return _from_openai(usage, "input_tokens", "output_tokens")


def to_responses(usage: Usage) -> dict[str, Any]:
    prompt = usage.input_tokens + usage.cached_input_tokens + usage.cache_write_tokens
    return {"input_tokens": prompt, "output_tokens": usage.output_tokens, "total_tokens": prompt + usage.output_tokens,
            "input_tokens_details": {"cached_tokens": usage.cached_input_tokens,
                                     "cache_write_tokens": usage.cache_write_tokens},
            "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens}}


def estimate_tokens(chars: int) -> int:
    """Tokens of `chars` characters of text, estimated (about 4 characters a token for English and code)."""
    return math.ceil(max(chars, 0) / CHARS_PER_TOKEN)


def prompt_chars(body: Mapping[str, Any]) -> int:
    """Characters of a canonical (chat completions) request's prompt: message contents, tool calls, tools."""
    total = 0
    for message in body.get("messages") or []:
        if not isinstance(message, Mapping):
            continue
        content = message.get("content")
        if isinstance(content, str):
            total += len(content)
        elif isinstance(content, list):
            total += sum(len(str(p.get("text", ""))) for p in content if isinstance(p, Mapping))
        for call in message.get("tool_calls") or []:
            fn = call.get("function") if isinstance(call, Mapping) else None
            if isinstance(fn, Mapping):
                total += len(str(fn.get("name", ""))) + len(str(fn.get("arguments", "")))
    for tool in body.get("tools") or []:
        total += len(str(tool))
    return total


class StreamMeter:
    """What a canonical chunk stream has used so far: the usage the upstream reported (exact) or, when the
    stream ended before it (the client disconnected), the prompt estimate plus the output streamed."""

    def __init__(self, prompt_tokens_estimate: int) -> None:
        self.prompt_tokens_estimate = prompt_tokens_estimate
        self.input: Usage | None = None  # the input usage an upstream reports at the start (Anthropic)
        self.output_chars = 0
        self.reported: Usage | None = None
        self.finished = False

    def add(self, chunk: Mapping[str, Any]) -> None:
        start = from_chat(chunk.get("_input_usage"))
        if start is not None:
            self.input = start
        reported = from_chat(chunk.get("usage"))
        if reported is not None:
            self.reported = reported
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") if isinstance(choice, Mapping) else None
            if not isinstance(delta, Mapping):
                continue
            for key in ("content", "reasoning_content"):
                if isinstance(delta.get(key), str):
                    self.output_chars += len(delta[key])
            for call in delta.get("tool_calls") or []:
                fn = call.get("function") if isinstance(call, Mapping) else None
                if isinstance(fn, Mapping):
                    self.output_chars += len(str(fn.get("name") or "")) + len(str(fn.get("arguments") or ""))
            if choice.get("finish_reason"):
                self.finished = True

    @property
    def exact(self) -> bool:
        """Whether the usage comes from the upstream (not estimated)."""
        return self.reported is not None

    def usage(self) -> Usage:
        if self.reported is not None:
            return self.reported
        output = estimate_tokens(self.output_chars)
        if self.input is not None:
            return Usage(input_tokens=self.input.input_tokens, cached_input_tokens=self.input.cached_input_tokens,
                         cache_write_tokens=self.input.cache_write_tokens, output_tokens=output)
        return Usage(input_tokens=self.prompt_tokens_estimate, output_tokens=output)
