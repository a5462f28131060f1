"""Usage from every upstream format, back to every format, and the bill of a stream cut short."""

from __future__ import annotations

import pytest

from aco.records import Usage
from aco.server import usage as u

FULL = Usage(input_tokens=120, output_tokens=80, cached_input_tokens=1000, cache_write_tokens=300,
             reasoning_tokens=30)


def test_openai_chat_usage_counts_cached_and_written_tokens_inside_prompt_tokens() -> None:
    raw = {"prompt_tokens": 1420, "completion_tokens": 80, "total_tokens": 1500,
           "prompt_tokens_details": {"cached_tokens": 1000, "cache_write_tokens": 300},
           "completion_tokens_details": {"reasoning_tokens": 30}}
    assert u.from_chat(raw) == FULL
    assert u.from_chat({"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}) == Usage(5, 2)
    assert u.from_chat(None) is None and u.from_chat({"completion_tokens": 3}) is None


def test_anthropic_usage_reports_fresh_input_only() -> None:
    raw = {"input_tokens": 120, "output_tokens": 80, "cache_read_input_tokens": 1000,
           "cache_creation_input_tokens": 300, "output_tokens_details": {"thinking_tokens": 30}}
    assert u.from_anthropic(raw) == FULL
    assert u.from_anthropic({"input_tokens": 3, "output_tokens": 1, "cache_read_input_tokens": None}) == Usage(3, 1)


def test_responses_usage() -> None:
    raw = {"input_tokens": 1420, "output_tokens": 80, "total_tokens": 1500,
           "input_tokens_details": {"cached_tokens": 1000, "cache_write_tokens": 300},
           "output_tokens_details": {"reasoning_tokens": 30}}
    assert u.from_responses(raw) == FULL


@pytest.mark.parametrize(("write", "read"), [(u.to_chat, u.from_chat), (u.to_anthropic, u.from_anthropic),
                                             (u.to_responses, u.from_responses)])
def test_every_format_round_trips(write: object, read: object) -> None:
    for usage in (FULL, Usage(), Usage(input_tokens=7, output_tokens=1)):
        assert read(write(usage)) == usage  # type: ignore[operator]


def test_stream_meter_uses_reported_usage_else_estimates_what_was_streamed() -> None:
    meter = u.StreamMeter(prompt_tokens_estimate=50)
    meter.add({"choices": [{"delta": {"content": "x" * 30}}]})
    meter.add({"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"name": "bash",
                                                                                "arguments": "y" * 6}}]}}]})
    assert not meter.exact and not meter.finished
    assert meter.usage() == Usage(input_tokens=50, output_tokens=10)  # 40 characters at 4 per token
    meter.add({"_input_usage": u.to_chat(Usage(input_tokens=7, cached_input_tokens=900)), "choices": []})
    assert meter.usage() == Usage(input_tokens=7, cached_input_tokens=900, output_tokens=10)
    meter.add({"choices": [{"delta": {}, "finish_reason": "stop"}]})
    meter.add({"choices": [], "usage": u.to_chat(FULL)})
    assert meter.exact and meter.finished and meter.usage() == FULL


def test_prompt_chars_counts_messages_tool_calls_and_tools() -> None:
    body = {"messages": [{"role": "user", "content": "abcd"},
                         {"role": "assistant", "content": None,
                          "tool_calls": [{"function": {"name": "ab", "arguments": "{}"}}]},
                         {"role": "user", "content": [{"type": "text", "text": "xyz"}]}],
            "tools": [{"type": "function"}]}
    assert u.prompt_chars(body) == 4 + 4 + 3 + len(str({"type": "function"}))
    assert u.estimate_tokens(9) == 3
