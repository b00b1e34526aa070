#!/usr/bin/env python3
"""Crash harness: writer processes killed with SIGKILL at random moments, then every store
reopened and checked. Run it through scripts/crash-test.sh, which finds the binary and starts
the S3 test server.

Each trial picks a workload, starts a real `lakehouse` writer, kills it (SIGKILL) after a
random delay, and checks what the store holds against what the writer acknowledged. Writers
acknowledge on stdout (or in HTTP answers) only once a write is durable; the harness records
an acknowledgement before it looks at the store, so a write is "acknowledged" only if the
writer said so before it died.

Workloads:
  journal   `journal append --flush-every` fed numbered events; some trials run `journal
            compact` at the same time and kill both
  memory    `memory upsert --each` fed drafts with unique contents
  ingest    `dataset ingest` of a generated CSV (append, and overwrite into a second table),
            killed, then run again as a client would retry it
  corpus    `corpus build` over a growing dataset, killed, then run again (it resumes)
  serve     `lakehouse serve` under four HTTP clients (memory UPSERT, REVISE, RETIRE and
            journal appends), killed; the store is then reopened by the CLI

Checks after every trial, on what that trial's workload wrote (and everything it wrote in
earlier trials): every acknowledged write is present; nothing is present twice (journal events
by writer and number, memory records by content, ingested rows and quarantined rows by file,
corpus manifests one per version on a local folder); every dataset, corpus and namespace
opens; Python `deltalake` reads every table with the same row count SQL gives. A run in which
some workload was never killed mid-write, or whose HTTP writers were refused, fails too.

Output: one JSON object (trials, kills per workload, acknowledged, lost, duplicates, ...).
Exit code 1 when anything acknowledged was lost, duplicated, or a store did not open; the
work folder (local stores, generated files) is then kept and named in the JSON (`kept`), and
removed otherwise.
"""

import argparse
import csv
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

WORKLOADS = ["journal", "memory", "ingest", "corpus", "serve"]
BAD_ROWS = 7  # malformed rows in each ingested file, quarantined


class Failure(Exception):
    pass


class Harness:
    def __init__(self, binary, store, env, work, rng, storage_options):
        self.binary = binary
        self.store = store
        self.env = env
        self.work = work
        self.rng = rng
        self.storage_options = storage_options
        self.runs = {w: 0 for w in WORKLOADS}  # trials of each workload
        self.kills = {w: 0 for w in WORKLOADS}  # writers that died of SIGKILL mid-run
        self.acknowledged = {w: 0 for w in WORKLOADS}
        self.lost = []
        self.duplicates = []
        self.journal_acked = {}  # writer trial -> events acknowledged
        self.memory_acked = set()  # contents acknowledged
        self.ingest_acked = set()  # trial ids whose rows were acknowledged (after the retry)
        self.overwrite_last = None
        self.corpus_rows = 0
        self.served = {"upserted": {}, "revised": {}, "retired": set(), "journal": set()}
        self.refused = []
        self.took = {}  # workload -> seconds its last unkilled run took
        self.deltalake_reads = 0
        self.staging_files_left = set()

    # ---- running the binary ----

    def cmd(self, *args):
        return [self.binary, "--store", self.store, *args]

    def run(self, *args, input_text=None, check=True):
        p = subprocess.run(self.cmd(*args), env=self.env, input=input_text, capture_output=True,
                           text=True, timeout=600)
        if check and p.returncode != 0:
            raise Failure(f"lakehouse {' '.join(args)} failed: {p.stderr.strip()[-2000:]}")
        return p

    def spawn(self, *args):
        return subprocess.Popen(self.cmd(*args), env=self.env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                bufsize=1)

    def kill_after(self, proc, low, high, workload=None):
        """SIGKILL `proc` after a random delay in [low, high); for a workload that finished
        unkilled before, within the time it took then, so kills land mid-write."""
        took = self.took.get(workload)
        if took is not None:
            high = min(high, max(low * 2, took * 0.9))
        delay = self.rng.uniform(low, high)
        timer = threading.Timer(delay, lambda: proc.poll() is None and proc.send_signal(signal.SIGKILL))
        timer.start()
        return timer

    def count_kill(self, workload, proc):
        """Count `proc` as killed if it died of SIGKILL (not if it finished first)."""
        if proc.returncode == -signal.SIGKILL:
            self.kills[workload] += 1

    def json_lines(self, *args):
        out = self.run("--json", *args).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def sql(self, query):
        rows = self.json_lines("sql", query)
        return rows

    # ---- journal ----

    def journal(self, trial):
        proc = self.spawn("--json", "journal", "append", "journals/crash", "--flush-every", "20")
        compactor = None
        if trial % 3 == 0:
            compactor = subprocess.Popen(
                self.cmd("journal", "compact", "journals/crash", "--settle", "0s"), env=self.env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        feeder = threading.Thread(target=feed, args=(proc, (json.dumps({"w": trial, "n": n}) for n in range(10**7)), 20_000))
        feeder.start()
        timer = self.kill_after(proc, 0.2, 1.5)
        acked = 0
        for line in proc.stdout:
            acked = json.loads(line)["acked"]
        proc.wait()
        timer.cancel()
        self.count_kill("journal", proc)
        feeder.join()
        if compactor is not None:
            if compactor.poll() is None:
                compactor.send_signal(signal.SIGKILL)
            compactor.wait()
        self.journal_acked[trial] = acked
        self.acknowledged["journal"] += acked

    def check_journal(self):
        seen = {}
        for event in self.json_lines("journal", "read", "journals/crash"):
            data = event.get("data", event)
            key = (data["w"], data["n"])
            seen[key] = seen.get(key, 0) + 1
        self.duplicates += [f"journal event {k} x{c}" for k, c in seen.items() if c > 1]
        for writer, acked in self.journal_acked.items():
            present = sorted(n for (w, n) in seen if w == writer)
            missing = [n for n in range(acked) if (writer, n) not in seen]
            if missing:
                self.lost.append(f"journal writer {writer}: {len(missing)} acknowledged events missing")
            if present and present != list(range(len(present))):
                self.lost.append(f"journal writer {writer}: its events are not a gap-free run")
        self.run("journal", "stats", "journals/crash")

    # ---- memory ----

    def memory(self, trial):
        proc = self.spawn("--json", "memory", "upsert", "--each", "-n", "crash/memory",
                          "--embedder", "hash:64", "-")
        contents = (json.dumps({"kind": "fact", "content": f"trial {trial} fact {n}"}) for n in range(10**6))
        feeder = threading.Thread(target=feed, args=(proc, contents, 2_000))
        feeder.start()
        timer = self.kill_after(proc, 0.3, 2.0)
        for line in proc.stdout:
            answer = json.loads(line)
            self.memory_acked.add(answer["record"]["content"])
            self.acknowledged["memory"] += 1
        proc.wait()
        timer.cancel()
        self.count_kill("memory", proc)
        feeder.join()

    def check_memory(self):
        records = self.json_lines("memory", "list", "-n", "crash/memory", "--state", "all")
        by_content = {}
        for r in records:
            by_content.setdefault(r["content"], []).append(r)
        for content, rs in by_content.items():
            if len(rs) > 1 or rs[0]["replay_count"] != 1:
                self.duplicates.append(f"memory {content!r}: {len(rs)} records, replay_count {rs[0]['replay_count']}")
        missing = self.memory_acked - set(by_content)
        self.lost += [f"memory record {c!r} acknowledged but missing" for c in sorted(missing)]

    # ---- ingest ----

    def csv_file(self, trial, rows, bad=0):
        """A CSV of `rows` rows of `trial`, and `bad` malformed ones (a field too many)."""
        path = os.path.join(self.work, f"ingest-{trial}.csv")
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["trial", "n", "text"])
            for n in range(rows):
                w.writerow([trial, n, f"row {n} of trial {trial} " + "x" * 40])
                if bad and n % (rows // bad) == 0 and n // (rows // bad) < bad:
                    w.writerow([trial, n, "malformed", "one field too many"])
        return path

    def ingest(self, trial):
        path = self.csv_file(trial, 40_000, bad=BAD_ROWS)
        for table, mode in (("crash_ingest", "append"), ("crash_overwrite", "overwrite")):
            started = time.time()
            proc = subprocess.Popen(self.cmd("--json", "dataset", "ingest", table, path, "--mode", mode,
                                             "--on-error", "quarantine"),
                                    env=self.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            timer = self.kill_after(proc, 0.02, 1.2, "ingest")
            out, _ = proc.communicate()
            timer.cancel()
            if proc.returncode == 0:
                self.took["ingest"] = time.time() - started
            self.count_kill("ingest", proc)
            # the client retries until it is acknowledged, as a client of a flaky writer would
            if proc.returncode != 0 or not out.strip():
                self.run("--json", "dataset", "ingest", table, path, "--mode", mode,
                         "--on-error", "quarantine")
            self.acknowledged["ingest"] += 1
        self.ingest_acked.add(trial)
        self.overwrite_last = trial
        os.remove(path)

    def check_ingest(self):
        if not self.ingest_acked:
            return
        counts = {r["trial"]: r["c"] for r in self.sql("SELECT trial, count(*) AS c FROM crash_ingest GROUP BY trial")}
        for trial in self.ingest_acked:
            c = counts.get(trial, 0)
            if c < 40_000:
                self.lost.append(f"ingest of trial {trial}: {c} of 40000 rows")
            elif c > 40_000:
                self.duplicates.append(f"ingest of trial {trial}: {c} rows for 40000")
        rejects = {}
        for r in self.sql("SELECT file, count(*) AS c FROM crash_ingest__rejects GROUP BY file"):
            rejects[r["file"]] = r["c"]
        for trial in self.ingest_acked:
            c = sum(n for f, n in rejects.items() if f.endswith(f"ingest-{trial}.csv"))
            if c < BAD_ROWS:
                self.lost.append(f"ingest of trial {trial}: {c} of {BAD_ROWS} quarantined rows")
            elif c > BAD_ROWS:
                self.duplicates.append(f"ingest of trial {trial}: {c} quarantined rows for {BAD_ROWS}")
        over = self.sql("SELECT min(trial) AS lo, max(trial) AS hi, count(*) AS c FROM crash_overwrite")[0]
        if (over["lo"], over["hi"], over["c"]) != (self.overwrite_last, self.overwrite_last, 40_000):
            self.lost.append(f"overwrite: holds {over}, expected trial {self.overwrite_last} only")
        for table in ("crash_ingest", "crash_overwrite", "crash_ingest__rejects"):
            self.deltalake_check(table)

    def deltalake_check(self, table):
        from deltalake import DeltaTable
        uri = self.table_uri(table)
        rows = DeltaTable(uri, storage_options=self.storage_options).to_pyarrow_table().num_rows
        ours = self.sql(f"SELECT count(*) AS c FROM {table}")[0]["c"]
        if rows != ours:
            self.lost.append(f"table {table}: deltalake reads {rows} rows, SQL {ours}")
        self.deltalake_reads += 1

    def table_uri(self, table):
        if self.store.startswith("s3://"):
            return f"{self.store.rstrip('/')}/tables/{table}"
        return os.path.join(self.store, "tables", table)

    # ---- corpus ----

    def corpus(self, trial):
        path = self.csv_file(trial, 2000)
        self.run("dataset", "ingest", "crash_docs", path)
        os.remove(path)
        self.corpus_rows += 2000
        args = ("corpus", "build", "crash_corpus", "--from", "crash_docs", "--text", "text",
                "--id", "{trial}-{n}", "--embedder", "hash:64", "--chunk-rows", "250")
        started = time.time()
        proc = subprocess.Popen(self.cmd(*args), env=self.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        timer = self.kill_after(proc, 0.02, 1.0, "corpus")
        proc.wait()
        timer.cancel()
        if proc.returncode == 0:
            self.took["corpus"] = time.time() - started
        self.count_kill("corpus", proc)
        self.run(*args)  # resumes where the killed build stopped
        self.acknowledged["corpus"] += 1

    def check_corpus(self):
        if not self.corpus_rows:
            return
        described = json.loads(self.run("--json", "corpus", "describe", "crash_corpus").stdout)
        if described["docs"] != self.corpus_rows:
            self.lost.append(f"corpus: {described['docs']} documents for {self.corpus_rows} rows")
        manifests = os.path.join(self.store, "corpora", "crash_corpus", "manifests")
        if os.path.isdir(manifests):
            # `<key>#<digits>` is object_store's staging file for a local put (written, then
            # linked to its key); a writer killed between the two leaves it behind. Listings
            # skip such names, so the store never sees it: counted, not a duplicate.
            names = os.listdir(manifests)
            staged = [f for f in names if re.search(r"#[0-9]+$", f)]
            self.staging_files_left.update(os.path.join(manifests, f) for f in staged)
            versions = sorted(int(f.split(".")[0]) for f in names if f not in staged)
            if versions != list(range(1, described["version"] + 1)):
                self.duplicates.append(f"corpus manifests are not one per version: {versions[:5]}…")
        hits = self.json_lines("search", "row 7 of trial", "--corpora", "crash_corpus", "--k", "5")[0]["hits"]
        if not hits:
            self.lost.append("corpus: a search found nothing")

    # ---- serve ----

    def serve(self, trial):
        proc = subprocess.Popen(self.cmd("serve", "--addr", "127.0.0.1:0"), env={**self.env, "LAKEHOUSE_EMBEDDER": "hash:64"},
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        base = listening(proc)
        stop = threading.Event()
        lock = threading.Lock()

        def client(k):
            n = 0
            while not stop.is_set():
                n += 1
                label = f"t{trial}-c{k}-{n}"
                try:
                    if k == 3:
                        post(base, "/v1/journals/crash-serve/events", {"events": [{"label": label}]})
                        with lock:
                            self.served["journal"].add(label)
                        continue
                    answer = post(base, "/v1/memory/records",
                                  {"namespace": "crash/serve", "drafts": [{"kind": "fact", "content": label}]})
                    record = answer[0]["record"]
                    with lock:
                        self.served["upserted"][label] = record["id"]
                    if k == 1:
                        revised = post(base, f"/v1/memory/records/{record['id']}/revise",
                                       {"namespace": "crash/serve", "patch": {"content": label + " v2"}})
                        with lock:
                            self.served["revised"][revised["id"]] = label + " v2"
                    elif k == 2:
                        post(base, f"/v1/memory/records/{record['id']}/retire",
                             {"namespace": "crash/serve", "reason": "crash test"})
                        with lock:
                            self.served["retired"].add(record["id"])
                except urllib.error.HTTPError as e:
                    # the server refused a well-formed write: that is a failure, not a crash
                    with lock:
                        self.refused.append(f"{e.code} {e.read()[:200]!r}")
                    return
                except (urllib.error.URLError, ConnectionError, OSError, TimeoutError):
                    return  # the server is gone: killed
                except Exception as e:  # noqa: BLE001 - a bad answer shape
                    with lock:
                        self.refused.append(f"unexpected answer: {e!r}")
                    return

        threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        time.sleep(self.rng.uniform(0.3, 2.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.count_kill("serve", proc)
        stop.set()
        for t in threads:
            t.join()
        self.acknowledged["serve"] = (len(self.served["upserted"]) + len(self.served["revised"])
                                      + len(self.served["retired"]) + len(self.served["journal"]))

    def check_serve(self):
        if self.refused:
            raise Failure(f"the server refused well-formed writes: {self.refused[:3]}")
        if not self.served["upserted"]:
            raise Failure("the server acknowledged no write before it was killed")
        records = self.json_lines("memory", "list", "-n", "crash/serve", "--state", "all")
        by_id = {r["id"]: r for r in records}
        contents = {}
        for r in records:
            contents[r["content"]] = contents.get(r["content"], 0) + 1
        self.duplicates += [f"serve memory {c!r} x{n}" for c, n in contents.items() if n > 1]
        for label, rid in self.served["upserted"].items():
            if rid not in by_id or by_id[rid]["content"] != label:
                self.lost.append(f"serve: acknowledged upsert {label} ({rid}) missing")
        for rid, content in self.served["revised"].items():
            if rid not in by_id or by_id[rid]["content"] != content:
                self.lost.append(f"serve: acknowledged revision {rid} missing")
        for rid in self.served["retired"]:
            if rid not in by_id or not by_id[rid].get("retired_at"):
                self.lost.append(f"serve: acknowledged retirement of {rid} missing")
        seen = {}
        for event in self.json_lines("journal", "read", "journals/crash-serve"):
            label = event.get("data", event)["label"]
            seen[label] = seen.get(label, 0) + 1
        self.duplicates += [f"serve journal {l} x{c}" for l, c in seen.items() if c > 1]
        self.lost += [f"serve journal event {l} missing" for l in sorted(self.served["journal"] - set(seen))]

    def check(self, workload):
        """Check what `workload` wrote (all of it, this trial's and earlier ones'), and that
        everything in the store still opens."""
        getattr(self, f"check_{workload}")()
        # everything opens: the store's datasets, corpora and namespaces list
        self.run("dataset", "list")
        self.run("corpus", "list")
        self.run("memory", "namespaces")


def feed(proc, lines, per_second):
    """Write `lines` to the writer's stdin at about `per_second` (so a store does not grow so
    fast that checking it dominates a long run) until it dies."""
    burst = max(1, per_second // 100)
    try:
        for n, line in enumerate(lines):
            proc.stdin.write(line + "\n")
            if n % burst == burst - 1:
                proc.stdin.flush()
                time.sleep(0.01)
    except (BrokenPipeError, ValueError, OSError):
        pass


def listening(proc):
    for line in proc.stderr:
        if "on http://" in line:
            addr = line.split("on http://", 1)[1].split()[0]
            threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
            return f"http://{addr}"
    raise Failure("the server did not start")


def post(base, path, body):
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def main():
    ap = argparse.ArgumentParser(description="SIGKILL writers at random moments, then check the store")
    ap.add_argument("--bin", required=True)
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--store", default="local", help="local, s3, or a store URL")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    rng = random.Random(seed)
    work = tempfile.mkdtemp(prefix="lakehouse-crash-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env["RUST_LOG"] = "error"
    storage_options = {}
    if args.store == "local":
        store = os.path.join(work, "store")
    elif args.store == "s3":
        endpoint = os.environ["LAKEHOUSE_TEST_S3_ENDPOINT"]
        bucket = os.environ.get("LAKEHOUSE_TEST_S3_BUCKET", "lakehouse-test")
        store = f"s3://{bucket}/crash-{uuid.uuid4().hex[:12]}"
        env.update({"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "lakehouse-test",
                    "AWS_SECRET_ACCESS_KEY": "lakehouse-test", "AWS_REGION": "us-east-1",
                    "AWS_ALLOW_HTTP": "true"})
        storage_options = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "lakehouse-test",
                           "AWS_SECRET_ACCESS_KEY": "lakehouse-test", "AWS_REGION": "us-east-1",
                           "AWS_ALLOW_HTTP": "true", "AWS_S3_ALLOW_UNSAFE_RENAME": "true"}
    else:
        store = args.store
    h = Harness(args.bin, store, env, work, rng, storage_options)
    started = time.time()
    failure = None
    trials = 0
    try:
        for trial in range(args.trials):
            workload = WORKLOADS[trial % len(WORKLOADS)]
            getattr(h, workload)(trial)
            h.runs[workload] += 1
            trials += 1
            h.check(workload)
            sys.stderr.write(f"trial {trial + 1}/{args.trials} ({workload}): lost {len(h.lost)}, "
                             f"duplicates {len(h.duplicates)}\n")
            if h.lost or h.duplicates:
                break
    except Failure as e:
        failure = str(e)
    summary = {
        "bench": "crash",
        "store": "local folder" if args.store == "local" else ("S3 test server (moto)" if args.store == "s3" else args.store),
        "seed": seed,
        "trials": trials,
        "runs": h.runs,
        "kills": h.kills,
        "kills_total": sum(h.kills.values()),
        "acknowledged": h.acknowledged,
        "acknowledged_total": sum(h.acknowledged.values()),
        "lost": len(h.lost),
        "duplicates": len(h.duplicates),
        "lost_examples": h.lost[:10],
        "duplicate_examples": h.duplicates[:10],
        "deltalake_reads": h.deltalake_reads,
        "local_staging_files_left": len(h.staging_files_left),
        "stores_open": failure is None,
        "never_killed": [w for w in WORKLOADS if h.runs[w] >= 2 and h.kills[w] == 0],
        "failure": failure,
        "seconds": round(time.time() - started, 1),
    }
    ok = failure is None and not h.lost and not h.duplicates and not summary["never_killed"]
    if ok:
        shutil.rmtree(work, ignore_errors=True)
    else:
        summary["kept"] = work  # the stores and files of the failed run, to look at
    print(json.dumps(summary, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
