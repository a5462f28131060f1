"""API translators at the proxy's edge: every client API (OpenAI chat completions, Anthropic Messages, OpenAI
Responses) and every upstream API is translated to and from one canonical form, the OpenAI chat completions body,
payload and chunk stream (with tools and tool calls).

Canonical extensions (never sent to an upstream that does not take them): an assistant message's
`thinking_blocks` (Anthropic thinking / redacted_thinking blocks with their signatures) and `reasoning_content`;
`cache_control` on content parts, tools and messages; a tool message's `is_error`; a body's `_anthropic`
(Anthropic-only request fields); a choice's `_stop_reason` / `_stop_sequence` (Anthropic's exact stop reason).
"""
