"""The official OpenAI Python SDK, unchanged, against lore's OpenAI-compatible routes.

Usage: python openai_sdk_test.py BASE_URL COLLECTION
Exits non-zero (an assertion or an SDK exception) when a response is not what the SDK
and the spec expect.
"""
import sys

import openai
from openai import OpenAI

base, collection, key = sys.argv[1], sys.argv[2], sys.argv[3]
client = OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0)
question = "Which macro creates a new vector that holds the values you give it?"

# Models: `lore`, the collection, the embedding model.
ids = [m.id for m in client.models.list()]
assert "lore" in ids and collection in ids and "all-MiniLM-L6-v2" in ids, ids

# Non-streaming chat completion.
resp = client.chat.completions.create(
    model=collection, messages=[{"role": "user", "content": question}]
)
assert resp.object == "chat.completion", resp
content = resp.choices[0].message.content
assert resp.choices[0].finish_reason == "stop"
assert "vec!" in content and "Sources:" in content, content
assert resp.usage is not None
# lore's extra field survives as an extra attribute.
extra = resp.model_extra or {}
assert extra.get("citations"), extra

# Streaming, with usage at the end.
stream = client.chat.completions.create(
    model=collection,
    messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": question}],
    stream=True,
    stream_options={"include_usage": True},
)
pieces, finish, usage = [], None, None
for chunk in stream:
    assert chunk.object == "chat.completion.chunk", chunk
    if chunk.choices:
        delta = chunk.choices[0].delta
        if delta.content:
            pieces.append(delta.content)
        finish = chunk.choices[0].finish_reason or finish
    if chunk.usage:
        usage = chunk.usage
text = "".join(pieces)
assert "vec!" in text and "Sources:" in text, text
assert finish == "stop" and usage is not None, (finish, usage)

# Embeddings: the SDK asks for base64 by default and decodes it.
emb = client.embeddings.create(model="all-MiniLM-L6-v2", input=["hello world", question])
assert len(emb.data) == 2 and len(emb.data[0].embedding) == 384
norm = sum(x * x for x in emb.data[1].embedding)
assert abs(norm - 1.0) < 1e-3, norm
emb = client.embeddings.create(model="all-MiniLM-L6-v2", input="one", encoding_format="float")
assert len(emb.data[0].embedding) == 384

# Errors arrive as the SDK's exceptions.
try:
    client.chat.completions.create(model="no-such-collection", messages=[{"role": "user", "content": "x"}])
    raise AssertionError("unknown model accepted")
except openai.NotFoundError as e:
    assert e.body["code"] == "model_not_found", e.body
try:
    client.embeddings.create(model="all-MiniLM-L6-v2", input="")
    raise AssertionError("empty input accepted")
except openai.BadRequestError:
    pass

print(f"openai SDK {openai.__version__}: models, chat (stream and not), embeddings, errors ok")
