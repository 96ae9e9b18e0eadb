"""Talk to a running Transformer X-Ray server from Python.

    uvicorn app.main:app --port 8000 &
    python examples/api_client.py --url http://127.0.0.1:8000 --text "the cat that the dogs chase"

Prints the tokens, the most probable next words, the attention pattern of layer 0 head 0, and a seeded
generation. On an encoder-only model (BERT, served as XRAY_MODELS=hf:<dir>) it prints what the model predicts
under the text's first [MASK] instead, and no generation:

    python examples/api_client.py --model bert-base-uncased --text "the cat sat on the [MASK]"

Every request and response shape is in /docs (OpenAPI at /openapi.json).
"""
from __future__ import annotations

import argparse
import sys

import httpx


def call(client: httpx.Client, method: str, path: str, **kw) -> dict:
    r = client.request(method, path, **kw)
    body = r.json()
    if r.status_code >= 400:  # every error is {"error": {"code", "message"}}
        sys.exit(f"{method} {path} -> {r.status_code} {body['error']['code']}: {body['error']['message']}")
    return body


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8000", help="base URL of the server")
    ap.add_argument("--model", default=None, help="model id (default: the first listed)")
    ap.add_argument("--text", default="the cat that the dogs chase", help="input text (source sentence for a translator)")
    ap.add_argument("--target", default="", help="encoder-decoder only: decoder input written so far")
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--top-k", type=int, default=None)
    ap.add_argument("--top-p", type=float, default=0.95)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    with httpx.Client(base_url=args.url, timeout=60, headers={"accept-encoding": "gzip"}) as client:
        models = call(client, "GET", "/api/v1/models")
        print("models:", ", ".join(f"{m['id']} ({m['arch']}, {m['n_params']:,} params)" for m in models))
        model = args.model or models[0]["id"]
        info = call(client, "GET", f"/api/v1/models/{model}")
        enc_dec = info["arch"] == "encoder_decoder"
        masked_lm = info["arch"] == "encoder"
        body = {"model": model, "text": args.text, **({"target": args.target} if enc_dec else {})}

        stack = "decoder" if enc_dec else "blocks"
        name = f"{stack}.0.attn.hook_pattern"
        tr = call(client, "POST", "/api/v1/trace", json={**body, "names": [name], "precision": 3})
        print("\ntokens:", tr["tokens"], *(["\ntarget tokens:", tr["target_tokens"]] if enc_dec else []))

        # the candidates only; "full": true would add probs and logits over the whole vocabulary
        sampling = {"temperature": args.temperature, "top_k": args.top_k, "top_p": args.top_p}
        if masked_lm:
            nt = call(client, "POST", "/api/v1/masked-token", json={**body, **sampling})
            what = f"token under the mask at position {nt['position']} (masks at {nt['mask_positions']})"
        else:
            nt = call(client, "POST", "/api/v1/next-token", json={**body, **sampling})
            what = "next token"
        print(f"\n{what} (temperature {nt['temperature']}, entropy {nt['entropy']:.3f} nats):")
        for c in nt["candidates"][:10]:
            print(f"  {c['token']:>12}  p={c['prob']:.3f}  logit={c['logit']:+.3f}")

        pattern = tr["activations"][name]
        rows = tr["target_tokens"] if enc_dec else tr["tokens"]
        print(f"\n{name}, head 0 (dims {pattern['dims']}; row = query, column = key):")
        print(" " * 13 + "".join(f"{t[:7]:>8}" for t in rows))
        for tok, row in zip(rows, pattern["data"][0]):
            print(f"{tok[:12]:>12} " + "".join(f"{v:8.2f}" for v in row))

        if masked_lm:
            return  # an encoder reads the whole text at once: it does not continue it
        gen = call(client, "POST", "/api/v1/generate",
                   json={"model": model, "text": args.text, "max_new_tokens": 12, "temperature": args.temperature,
                         "top_k": args.top_k, "top_p": args.top_p, "seed": args.seed})
        print(f"\ngeneration (seed {gen['seed']}): {gen['text']!r}")
        for s in gen["steps"]:
            alts = ", ".join(f"{c['token']} {c['prob']:.2f}" for c in s["candidates"][:3])
            print(f"  {s['token']:>12}  p={s['prob']:.3f}   [{alts}]")


if __name__ == "__main__":
    main()
