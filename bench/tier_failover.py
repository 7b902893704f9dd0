#!/usr/bin/env python3
"""Load balancing and failover of a model tier over two real llama.cpp servers.

Starts two llama-servers (SmolLM2-135M, one slot and one thread each, from
scripts/setup-llama-server.sh), a lore server whose [llm.tiers.small] lists both, and
$CLIENTS concurrent clients posting distinct answer requests ("tier": "small", top_k 1,
8 tokens) for $SECS seconds. With KILL=1, server A is killed at 1/3 of the run and
restarted on its port at 1/2. Reports answers per endpoint (share while both were up),
failed requests, when A was first reported ejected after the kill, and when A answered
again after the restart.

Usage: python3 bench/tier_failover.py DATA_DIR_WITH_COLLECTION_docs
Env: LORE_BIN, CLIENTS (100), SECS (60), KILL (1).
"""
import json, os, shutil, socket, subprocess, sys, tempfile, threading, time, urllib.request

home = os.path.expanduser("~")
lore = os.environ.get("LORE_BIN", f"{home}/.cache/lore-target/debug/lore")
tools = os.environ.get("LORE_TOOLS_DIR", f"{home}/.cache/lore/tools")
models = os.environ.get("LORE_MODELS_DIR", f"{home}/.cache/lore/models")
clients, secs, kill = int(os.environ.get("CLIENTS", 100)), float(os.environ.get("SECS", 60)), os.environ.get("KILL", "1") == "1"

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def llama(port):
    p = subprocess.Popen([f"{tools}/llama-server", "-m", f"{models}/llm/SmolLM2-135M-Instruct.Q4_1.gguf",
        "--host", "127.0.0.1", "--port", str(port), "-c", "1024", "-np", "1", "-t", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).status == 200:
                return p
        except Exception:
            time.sleep(0.2)
    raise SystemExit("llama-server did not start")

src = sys.argv[1]
work = tempfile.mkdtemp()
data = os.path.join(work, "data")
shutil.copytree(src, data)
pa, pb = free_port(), free_port()
ua, ub = f"http://127.0.0.1:{pa}/v1", f"http://127.0.0.1:{pb}/v1"
a, b = llama(pa), llama(pb)
with open(os.path.join(data, "lore.toml"), "w") as f:
    f.write(f"""[cache]
enabled = false
[rate_limit]
enabled = false
[auth]
enabled = false
[llm]
extractive_fallback = false
[llm.openai]
connect_timeout = "1s"
read_timeout = "60s"
[llm.tiers.small]
cooldown = "60s"
probe_interval = "200ms"
endpoints = [{{base_url = "{ua}", model = "smollm2", max_concurrent = 4}}, {{base_url = "{ub}", model = "smollm2", max_concurrent = 4}}]
""")
srv = subprocess.Popen([lore, "--data-dir", data, "serve", "--bind", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
line = srv.stdout.readline()
while "listening on" not in line:
    line = srv.stdout.readline()
url = line[line.index("http://"):].split()[0]

lock = threading.Lock()
results = []  # (t_sent, t_done, status, endpoint, notices)
t0 = time.time()
stop_at = t0 + secs
counter = [0]

def client():
    while time.time() < stop_at:
        with lock:
            counter[0] += 1; n = counter[0]
        body = json.dumps({"query": f"What does a vector store in Rust? (question {n})", "collection": "docs",
                           "tier": "small", "top_k": 1, "max_tokens": 8}).encode()
        sent = time.time()
        try:
            r = urllib.request.urlopen(urllib.request.Request(url + "/v1/answer", body, {"content-type": "application/json"}), timeout=300)
            v = json.load(r); status = r.status
        except urllib.error.HTTPError as e:
            v, status = {}, e.code
        except Exception:
            v, status = {}, 0
        with lock:
            results.append((sent - t0, time.time() - t0, status, v.get("endpoint"), " ".join(v.get("notices", []))))

threads = [threading.Thread(target=client) for _ in range(clients)]
for t in threads: t.start()
killed_at = restarted_at = None
if kill:
    time.sleep(secs / 3); a.kill(); a.wait(); killed_at = time.time() - t0
    time.sleep(secs / 6); a = llama(pa); restarted_at = time.time() - t0
for t in threads: t.join()
srv.terminate(); a.kill(); b.kill()
ok = [r for r in results if r[2] == 200]
failed = [r for r in results if r[2] != 200]
both_up = [r for r in ok if killed_at is None or r[1] < killed_at]
na = sum(1 for r in both_up if r[3] == ua); nb = sum(1 for r in both_up if r[3] == ub)
print(f"{len(results)} answers in {secs:.0f} s with {clients} clients, {len(failed)} failed"
      + (f" (statuses {sorted(set(r[2] for r in failed))})" if failed else ""))
if both_up:
    print(f"while both were up: A {na}, B {nb} (A's share {na / max(1, na + nb):.1%})")
if kill:
    ej = [r for r in ok if r[1] >= killed_at and ua in r[4] and "ejected" in r[4]]
    back = [r for r in ok if restarted_at and r[1] >= restarted_at and r[3] == ua]
    first_fail_notice = min((r[1] for r in ej), default=None)
    print(f"A killed at {killed_at:.1f} s; first answer reporting A ejected finished at "
          + (f"{first_fail_notice:.1f} s" if first_fail_notice else "never"))
    print(f"A restarted (healthy) at {restarted_at:.1f} s; first answer from A again at "
          + (f"{min(r[1] for r in back):.1f} s" if back else "never"))
shutil.rmtree(work, ignore_errors=True)
