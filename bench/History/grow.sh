#!/usr/bin/env bash
# Grows a SQLite ledger to CALLS call records (HEAVY of them on one account, the rest spread over ACCOUNTS accounts)
# over the last DAYS days, with the rows the metered path leaves per call with the default settings (credit leases on:
# see below; as CreditLedger.Leases.cs wrote them on 2026-12-01) and one lot per account whose remaining credits are
# what the calls left: consistent SQL, inserted in id order (fast), through the checked-in migrations' schema.
# Records look like real ones (bench/History/traffic.sh): a feature on 4 calls in 5, a task on 1 in 10, 1 in 50 failed.
# Usage: bench/History/grow.sh DB   (knobs: CALLS=3000000 HEAVY=1000000 ACCOUNTS=2000 DAYS=183; UNTIL=0014_storage: only the
# migrations before it, to grow the schema as it was before that one and measure it against the current one)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
db=${1:?usage: grow.sh DB}
calls=${CALLS:-3000000}; heavy=${HEAVY:-1000000}; accounts=${ACCOUNTS:-2000}; days=${DAYS:-183}; until=${UNTIL:-}
rm -f "$db" "$db-wal" "$db-shm"
mkdir -p "$(dirname "$db")"
now_ticks=$(python3 -c 'import time; print(int(time.time()*10**7) + 621355968000000000)')
span=$((days * 864000000000))
step=$((span / calls))
start=$((now_ticks - span))
# GUIDs: 16-byte BLOBs from migration 0015 on (big-endian, src/AiGateway/Storage/SqliteGuid.cs), upper-case text
# before it. The sqlite3 shell here (3.40) has no unhex(), so the ids are listed as BLOB literals in a temp table.
if [[ -z "$until" || "$until" > "0015_guid_blobs" ]]; then
  ids=$(python3 -c "
import sys; n = int(sys.argv[1])
print('CREATE TEMP TABLE ids (n INTEGER PRIMARY KEY, account BLOB NOT NULL, key BLOB NOT NULL);')
print('INSERT INTO ids VALUES ' + ','.join(f\"({i}, X'0197A1B2000070008000{i:012d}', X'0197A1B2000070009000{i:012d}')\" for i in range(n)) + ';')" "$accounts")
  account_of="(SELECT account FROM ids WHERE ids.n = acct)"; key_of="(SELECT key FROM ids WHERE ids.n = acct)"
  all_accounts="SELECT account, 'bench ' || n, $start, NULL FROM ids"; heavy_id="X'0197A1B2000070008000000000000000'"
else
  ids=""
  account_of="printf('0197A1B2-0000-7000-8000-%012d', acct)"; key_of="printf('0197A1B2-0000-7000-9000-%012d', acct)"
  all_accounts="SELECT printf('0197A1B2-0000-7000-8000-%012d', n), 'bench ' || n, $start, NULL FROM a"; heavy_id="'0197A1B2-0000-7000-8000-000000000000'"
fi
{
  # No journal while growing (one transaction of gigabytes); WAL, as the gateway runs it, at the end.
  echo "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-400000;"
  echo "CREATE TABLE schema_migrations (id VARCHAR(200) NOT NULL PRIMARY KEY, applied_at VARCHAR(40) NOT NULL);"
  for f in src/AiGateway/Storage/Migrations/Sqlite/0*.sql; do
    [[ -n "$until" && ! "$(basename "$f")" < "$until" ]] && continue
    # 0015's conversion of existing rows needs unhex() (SQLite ≥ 3.41; the gateway ships 3.53), which this shell may
    # lack; the schema is empty here, so those statements have nothing to convert.
    sed '/unhex(/d' "$f"; echo
    echo "INSERT INTO schema_migrations VALUES ('$(basename "$f" .sql)', '$(date -u +%FT%TZ)');"
  done
  cat <<SQL
BEGIN;
-- Account 0 is the heavy one; ids as the gateway stores them (see \$ids above).
$ids
WITH RECURSIVE a(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM a WHERE n < $accounts - 1)
INSERT INTO accounts (id, name, created_at, plan) $all_accounts;
-- Every third call is the heavy account's until it has $heavy; the others go round the rest.
WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < $calls),
k AS (SELECT n, CASE WHEN n % 3 = 0 AND n / 3 <= $heavy THEN 0 ELSE 1 + (n % ($accounts - 1)) END AS acct FROM c)
INSERT INTO call_records (request_id, account_id, key_id, route, provider, model, priced_model, operation, stream, input_tokens,
    cached_input_tokens, cache_write_input_tokens, output_tokens, reasoning_tokens, images, video_seconds, audio_uses,
    estimated_input_tokens, estimated_output_tokens, estimate_micro, charged_micro, overage_micro, status_code, usage_source,
    clamped, unlimited, attempt_count, attempts, error, feature, task, started_at, duration_ms, first_byte_ms)
SELECT 'req_' || printf('%032x', n), $account_of, $key_of,
    'openai', 'openai', CASE n % 4 WHEN 0 THEN 'gpt-4o' WHEN 1 THEN 'gpt-4o-mini' WHEN 2 THEN 'o3' ELSE 'gpt-4.1-mini' END,
    CASE n % 4 WHEN 0 THEN 'gpt-4o' WHEN 1 THEN 'gpt-4o-mini' WHEN 2 THEN 'o3' ELSE 'gpt-4.1-mini' END, 'OpenAiChatCompletions', n % 2, 800 + n % 900, n % 200, 0, 150 + n % 400, n % 7 * 10, 0, 0, 0, 900, 600, 5000,
    CASE WHEN n % 50 = 5 THEN 0 ELSE 1000 + n % 4000 END, 0, CASE WHEN n % 50 = 5 THEN 502 ELSE 200 END,
    CASE WHEN n % 50 = 5 THEN 'none' ELSE 'provider' END, 0, 0, CASE WHEN n % 50 = 5 THEN 3 ELSE 1 END,
    CASE WHEN n % 50 = 5 THEN 'primary:502;primary:502;primary:502' ELSE 'primary:200' END, NULL,
    CASE n % 5 WHEN 0 THEN NULL WHEN 1 THEN 'chat' WHEN 2 THEN 'search' WHEN 3 THEN 'summarize' ELSE 'agent' END,
    CASE WHEN n % 10 = 0 THEN 'task-' || (n / 1000) ELSE NULL END, $start + n * $step, 300 + n % 2000, 120
FROM k;
INSERT INTO credit_lots (account_id, kind, amount, remaining, consumed, expired, revoked, effective_at, expires_at, reason, source_ref,
    idempotency_key, created_at)
SELECT id, 'addon', 100000000000000, 100000000000000, 0, 0, 0, $start, NULL, 'bench', NULL, NULL, $start FROM accounts;
INSERT INTO ledger_entries (account_id, at, type, amount, available_after, lot_id, request_id)
SELECT a.id, $start, 'grant', 100000000000000, 100000000000000, l.id, NULL FROM accounts a JOIN credit_lots l ON l.account_id = a.id;
-- What the metered path leaves per call with the default settings (credit leases on). Calls with a task hold exactly
-- (a task budget sums over every instance): an active hold (its interrupted-call record sits in credit_hold_records
-- until the settle deletes it, so nothing of it stays), a hold movement, then a settle movement + charge + allocation
-- (charged) or a release movement (502). The other calls are admitted against the instance's lease and written at
-- settle by the lease batch: a settled hold row (no task), a charge, an allocation and a 'leased' settle movement when
-- charged; nothing but the record when the call failed.
INSERT INTO credit_holds (id, account_id, request_id, amount, status, created_at, expires_at, resolved_at, task)
SELECT id, account_id, request_id, estimate_micro, CASE WHEN charged_micro > 0 THEN 'settled' ELSE 'released' END,
    CASE WHEN task IS NULL THEN started_at + duration_ms * 10000 ELSE started_at END,
    CASE WHEN task IS NULL THEN started_at + duration_ms * 10000 ELSE started_at + 6000000000 END, started_at + duration_ms * 10000, task
FROM call_records WHERE task IS NOT NULL OR charged_micro > 0 ORDER BY id;
INSERT INTO credit_charges (id, account_id, request_id, hold_id, amount, overage, created_at)
SELECT id, account_id, request_id, id, charged_micro, 0, started_at + duration_ms * 10000 FROM call_records WHERE charged_micro > 0 ORDER BY id;
INSERT INTO charge_allocations (charge_id, lot_id, amount)
SELECT ch.id, l.id, ch.amount FROM credit_charges ch JOIN credit_lots l ON l.account_id = ch.account_id ORDER BY ch.id;
UPDATE credit_holds SET charge_id = CASE WHEN status = 'settled' THEN id END;
INSERT INTO ledger_entries (account_id, at, type, amount, available_after, hold_id, charge_id, request_id, note)
SELECT account_id, at, type, amount, 0, hold_id, charge_id, request_id, note FROM (
    SELECT id AS n, 0 AS k, account_id, started_at AS at, 'hold' AS type, estimate_micro AS amount, id AS hold_id, NULL AS charge_id, request_id,
        NULL AS note
    FROM call_records WHERE task IS NOT NULL
    UNION ALL
    SELECT id, 1, account_id, started_at + duration_ms * 10000, CASE WHEN charged_micro > 0 THEN 'settle' ELSE 'release' END,
        CASE WHEN charged_micro > 0 THEN charged_micro ELSE estimate_micro END, id, CASE WHEN charged_micro > 0 THEN id END, request_id,
        CASE WHEN task IS NULL THEN 'leased' END
    FROM call_records WHERE task IS NOT NULL OR charged_micro > 0)
ORDER BY n, k;
UPDATE credit_lots SET consumed = (SELECT COALESCE(SUM(charged_micro), 0) FROM call_records c WHERE c.account_id = credit_lots.account_id);
UPDATE credit_lots SET remaining = amount - consumed;
INSERT INTO ledger_accounts (account_id, held, overage, updated_at) SELECT id, 0, 0, $start FROM accounts;
COMMIT;
PRAGMA journal_mode=WAL;
SQL
} | sqlite3 "$db"
echo "grew $db: $(sqlite3 "$db" 'SELECT COUNT(*) FROM call_records') calls, heavy account $(sqlite3 "$db" "SELECT COUNT(*) FROM call_records WHERE account_id = $heavy_id")"
