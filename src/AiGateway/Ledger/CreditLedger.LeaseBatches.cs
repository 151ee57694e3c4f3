using AiGateway.Pricing;
using AiGateway.Storage;

namespace AiGateway.Ledger;

// The PostgreSQL way of writing a batch of leased settlements and call records (see SettleLeasedBatchAsync): each
// round trip to the server costs more than the statements it carries (two gateways on one database spent ≈ 15 round
// trips per call with one statement each), so the batch reads everything it needs in one round trip, computes the
// charges in memory exactly as the statement-per-row path does, and writes every row in a second one (set-based
// inserts from arrays; markers and call records in the same batch of statements) with the COMMIT at its end: two round
// trips whatever the number of calls and accounts (three when something must follow the writes). SQLite runs in
// process (no round trips to save) and keeps that path.
public sealed partial class CreditLedger
{
    // Read in the first round trip, in this order (each statement sees what the ones before it did: READ COMMITTED
    // takes a new snapshot per statement, so the reads after the lock see everything committed before it was granted).
    // Every one returns rows (RETURNING where it writes), so the reader has one result set per statement.
    private const string BatchLockExistingSql = BatchReadExistingSql + " FOR UPDATE";

    // The lock row of an account without one yet (as LockSql creates it), then every account's totals under its lock.
    private const string BatchCreateLockRowsSql = """
        INSERT INTO ledger_accounts (account_id, held, overage, updated_at)
        SELECT id, 0, 0, @now FROM accounts WHERE id = ANY(@ids) ORDER BY id
        ON CONFLICT (account_id) DO NOTHING RETURNING account_id
        """;

    private const string BatchTotalsSql = BatchTotalsNoLockSql + " FOR UPDATE OF s";

    private const string BatchLeasesSql =
        "SELECT account_id, instance_id, amount FROM credit_leases WHERE account_id = ANY(@ids) AND expires_at > @now";

    // A batch of one account (a quiet gateway's, or one hot account's) reads with a scalar parameter instead: for
    // `= ANY(@ids)` PostgreSQL's plan cache estimates a custom plan cheaper than the generic one and so plans these
    // three anew on every execution although they are prepared (bench/Metering/pg-statements.sh: ≈ 0.2 ms of the
    // server's CPU per lone call); with `= @id` the generic plan is as cheap and is kept.
    private const string BatchLockOneSql = BatchReadOneSql + " FOR UPDATE";

    private const string BatchTotalsOneSql = BatchTotalsOneNoLockSql + " FOR UPDATE OF s";

    private const string BatchLeasesOneSql =
        "SELECT account_id, instance_id, amount FROM credit_leases WHERE account_id = @id AND expires_at > @now";

    // The reads without the accounts' row locks (the late lock, see LateLockApplies); the locking reads above add them.
    private const string BatchReadExistingSql = "SELECT account_id FROM ledger_accounts WHERE account_id = ANY(@ids) ORDER BY account_id";
    private const string BatchReadOneSql = "SELECT account_id FROM ledger_accounts WHERE account_id = @id";

    private const string BatchTotalsNoLockSql = """
        SELECT s.account_id, s.held, s.overage, a.plan FROM ledger_accounts s JOIN accounts a ON a.id = s.account_id
        WHERE s.account_id = ANY(@ids) ORDER BY s.account_id
        """;

    private const string BatchTotalsOneNoLockSql = """
        SELECT s.account_id, s.held, s.overage, a.plan FROM ledger_accounts s JOIN accounts a ON a.id = s.account_id WHERE s.account_id = @id
        """;

    // The spendable lots of account s.account_id at @now (as BatchLotsSql reads them) and what is available to the writer
    // @w beside its own lease: the lots less active holds, debt and the other instances' unexpired leases.
    private const string SpendableOfS = """
        (SELECT COALESCE(SUM(l.remaining), 0) FROM credit_lots l WHERE l.account_id = s.account_id AND l.remaining > 0
         AND l.effective_at <= @now AND (l.expires_at IS NULL OR l.expires_at > @now))
        """;

    private const string AvailableToWriterOfS = SpendableOfS + """
         - s.held - s.overage
         - (SELECT COALESCE(SUM(e.amount), 0) FROM credit_leases e WHERE e.account_id = s.account_id AND e.expires_at > @now AND e.instance_id <> @w)
        """;

    // Under the lock, first of the writes: what the charges were computed from still holds, or the statement fails (a
    // text that is no integer: SQLSTATE 22P02 with LateLockMarker in its message; PostgreSQL then skips the rest of the
    // batch, COMMIT included, and the batch is read again under its lock). It holds when every lot the batch debits still
    // has what it debits (exactly that for a lot it empties, so no earlier lot in burn-down order gained credits), no
    // spendable lot appeared beside those read (a grant), and no armed low-balance threshold is crossed by the balance
    // after the batch's charges (@tt, @tc: threshold and charges per account; the reads decided that none fires).
    internal const string LateLockMarker = "aigw: the batch reads changed before its lock";

    private const string GuardEnd = "\n  THEN '1' ELSE '" + LateLockMarker + " (' || clock_timestamp()::text || ')' END AS integer)";

    private const string BatchLateLockGuardSql = """
        SELECT CAST(CASE WHEN
            (SELECT COUNT(*) FROM unnest(@gl, @gx, @gf) AS t(l, x, f) JOIN credit_lots l ON l.id = t.l
             WHERE l.remaining >= t.x AND (NOT t.f OR l.remaining = t.x)) = cardinality(@gl)
            AND NOT EXISTS (SELECT 1 FROM credit_lots l WHERE l.account_id = ANY(@ids) AND l.remaining > 0 AND l.effective_at <= @now
                AND (l.expires_at IS NULL OR l.expires_at > @now) AND l.id <> ALL(@read))
            AND NOT EXISTS (SELECT 1 FROM unnest(@ta, @tt, @tc) AS t(a, th, c) JOIN ledger_accounts s ON s.account_id = t.a
                WHERE
        """ + SpendableOfS + """
         - s.overage - t.c < t.th)
        """ + GuardEnd;

    // A batch of one account guards with scalar parameters, and with one lot debited (one hot account's usual batch)
    // without arrays at all; no lot is @l = 0 with @x = 0, no armed threshold @th = long.MinValue. With arrays, or NULLs
    // the plan could fold away, the plan cache planned the statement anew on every batch (PostgresPlanCacheTests).
    private const string BatchLateLockGuardOneSql = """
        SELECT CAST(CASE WHEN
            (SELECT COUNT(*) FROM unnest(@gl, @gx, @gf) AS t(l, x, f) JOIN credit_lots l ON l.id = t.l
             WHERE l.remaining >= t.x AND (NOT t.f OR l.remaining = t.x)) = cardinality(@gl)
        """ + GuardOneAccountRest;

    private const string BatchLateLockGuardOneLotSql = """
        SELECT CAST(CASE WHEN
            COALESCE((SELECT l.remaining >= @x AND (NOT @f OR l.remaining = @x) FROM credit_lots l WHERE l.id = @l), @x = 0)
        """ + GuardOneAccountRest;

    private const string GuardOneAccountRest = """

            AND NOT EXISTS (SELECT 1 FROM credit_lots l WHERE l.account_id = @id AND l.remaining > 0 AND l.effective_at <= @now
                AND (l.expires_at IS NULL OR l.expires_at > @now) AND l.id <> ALL(@read))
            AND NOT EXISTS (SELECT 1 FROM ledger_accounts s WHERE s.account_id = @id AND
        """ + SpendableOfS + """
         - s.overage - @tc < @th)
        """ + GuardEnd;

    // Under the lock, before the writes: what each account has available to the writer (results and activity entries show
    // it less the batch's charges up to each call, as the locked reads would have).
    private const string BatchLateLockBaseSql = "SELECT s.account_id, " + AvailableToWriterOfS + " FROM ledger_accounts s WHERE s.account_id = ANY(@ids)";

    private const string BatchLateLockBaseOneSql = "SELECT s.account_id, " + AvailableToWriterOfS + " FROM ledger_accounts s WHERE s.account_id = @id";

    // The available after each call from what its account has under the lock, read once per account in a materialized
    // CTE (joined on the account, the planner read the hot account's charges by account to match them: 8 ms per batch;
    // as a subquery per row, it planned the statement anew on every batch). One account: a scalar parameter.
    private const string BatchInsertEntriesLateSql = """
        WITH b AS MATERIALIZED (SELECT s.account_id,
        """ + AvailableToWriterOfS + """
         AS base FROM ledger_accounts s WHERE s.account_id = ANY(@ids))
        INSERT INTO ledger_entries (account_id, at, type, amount, available_after, hold_id, charge_id, request_id, note)
        SELECT c.account_id, @now, 'settle', c.amount, GREATEST(0, (SELECT b.base FROM b WHERE b.account_id = c.account_id) - t.cum),
               c.hold_id, c.id, c.request_id, 'leased'
        FROM unnest(@r, @cum) WITH ORDINALITY AS t(r, cum, n) JOIN credit_charges c ON c.request_id = t.r
        ORDER BY t.n
        """;

    private const string BatchInsertEntriesLateOneSql = """
        WITH b AS MATERIALIZED (SELECT
        """ + AvailableToWriterOfS + """
         AS base FROM ledger_accounts s WHERE s.account_id = @id)
        INSERT INTO ledger_entries (account_id, at, type, amount, available_after, hold_id, charge_id, request_id, note)
        SELECT c.account_id, @now, 'settle', c.amount, GREATEST(0, (SELECT b.base FROM b) - t.cum), c.hold_id, c.id, c.request_id, 'leased'
        FROM unnest(@r, @cum) WITH ORDINALITY AS t(r, cum, n) JOIN credit_charges c ON c.request_id = t.r
        ORDER BY t.n
        """;

    private const string BatchLotsSql = """
        SELECT account_id, id, kind, remaining, effective_at, expires_at, model_scope, modality_scope FROM credit_lots
        WHERE account_id = ANY(@ids) AND remaining > 0 AND effective_at <= @now AND (expires_at IS NULL OR expires_at > @now)
        """;

    private const string BatchHoldsSql = "SELECT request_id, id, account_id, amount, status, charge_id FROM credit_holds WHERE request_id = ANY(@r)";

    // Written in the second round trip; each row set in the order of the calls (ids grow as the per-row path gives them).
    // The settled holds and their charges in one statement, each pair's ids drawn up front (PostgreSQL evaluates the
    // sequences after the ORDER BY, so in the calls' order), each row written once with its link to the other: no
    // UPDATE linking the holds afterwards (a second version of every hold row) and no lookup of each charge's hold by
    // its request id (≈ 0.3 + 0.1 ms of the server's time per batch of 30 calls, `bench/Metering/pg-statements.sh`).
    private const string BatchInsertHoldsAndChargesSql = """
        WITH t AS MATERIALIZED (
            SELECT u.a, u.r, u.hx, u.cx, u.o, u.n, nextval('credit_holds_id_seq') AS h, nextval('credit_charges_id_seq') AS c
            FROM unnest(@a, @r, @hx, @cx, @o) WITH ORDINALITY AS u(a, r, hx, cx, o, n) ORDER BY u.n),
        held AS (
            INSERT INTO credit_holds (id, account_id, request_id, amount, status, created_at, expires_at, resolved_at, charge_id)
            SELECT t.h, t.a, t.r, t.hx, 'settled', @now, @now, @now, t.c FROM t ORDER BY t.n)
        INSERT INTO credit_charges (id, account_id, request_id, hold_id, amount, overage, created_at)
        SELECT t.c, t.a, t.r, t.h, t.cx, t.o, @now FROM t ORDER BY t.n
        RETURNING request_id, id
        """;

    private const string BatchInsertAllocationsSql = """
        INSERT INTO charge_allocations (charge_id, lot_id, amount)
        SELECT c.id, t.l, t.x FROM unnest(@r, @l, @x) WITH ORDINALITY AS t(r, l, x, n)
        JOIN credit_charges c ON c.request_id = t.r ORDER BY t.n
        """;

    private const string BatchInsertEntriesSql = """
        INSERT INTO ledger_entries (account_id, at, type, amount, available_after, hold_id, charge_id, request_id, note)
        SELECT c.account_id, @now, 'settle', c.amount, t.after, c.hold_id, c.id, c.request_id, 'leased'
        FROM unnest(@r, @after) WITH ORDINALITY AS t(r, after, n) JOIN credit_charges c ON c.request_id = t.r ORDER BY t.n
        """;

    private const string BatchDebitLotsSql = """
        UPDATE credit_lots l SET remaining = l.remaining - t.x, consumed = l.consumed + t.x FROM unnest(@l, @x) AS t(l, x) WHERE l.id = t.l
        """;

    private const string BatchAddOverageSql = """
        UPDATE ledger_accounts s SET overage = s.overage + t.o, updated_at = @now FROM unnest(@a, @o) AS t(a, o) WHERE s.account_id = t.a
        """;

    private const string BatchLowerLeasesSql = """
        UPDATE credit_leases l SET amount = GREATEST(0, l.amount - t.c), updated_at = @now
        FROM unnest(@a, @i, @c) AS t(a, i, c) WHERE l.account_id = t.a AND l.instance_id = t.i
        """;

    /// <summary>What the first round trip read about one account of the batch.</summary>
    private sealed class BatchAccount(AccountTotals totals)
    {
        public AccountTotals Totals { get; } = totals;
        public List<SpendableLot> Lots { get; } = [];
        public long LotsTotal { get; set; }
        public List<(string Instance, long Amount)> Leases { get; } = [];
        public Notifications.NotificationOutbox.LowBalanceState? Low { get; set; }
    }

    /// <summary>
    /// PostgreSQL: <see cref="SettleLeasedBatchAsync"/> in two round trips (reads; writes with the COMMIT), or three (the
    /// commit on its own) when something must follow the writes: a record replacing an interrupted one, a correction, a
    /// low-balance notification firing (each adds its own). A settlement repeated from an earlier batch adds its own too. Null when the batch repeats a request
    /// id (then the statement-per-row path settles it: the later one reports the earlier one's charge).
    /// </summary>
    private async Task<LeaseBatchResult?> SettleLeasedBatchInRoundTripsAsync(
        LedgerSession s, IReadOnlyList<LeasedSettlement> items, IReadOnlyList<CallRecord> records, AdmissionBatch? admission, long nowTicks,
        IReadOnlyList<CallRecord>? corrections, bool lateLock = false)
    {
        if (items.Select(i => i.RequestId).Distinct(StringComparer.Ordinal).Count() != items.Count) return null;
        var results = new SettleResult[items.Count];
        // Accounts in the order the per-row path takes them (their rows are locked in the database's order regardless).
        var groups = items.Select((item, index) => (item, index)).GroupBy(x => x.item.AccountId).OrderBy(g => g.Key).ToList();
        var accounts = new Dictionary<Guid, BatchAccount>();
        var existing = new Dictionary<string, HoldRow>(StringComparer.Ordinal);
        // Interrupted records stored for this batch's request ids (rare: an instance that could not renew its markers, a
        // journal replay after a long outage): replacing one may have to take it out of the rollups after the writes.
        var interrupted = 0L;
        if (items.Count > 0)
        {
            var recordIds = items.Where(i => i.Record is not null).Select(i => i.RequestId).Concat(records.Select(r => r.RequestId)).ToArray();
            interrupted = await ReadBatchAsync(s, groups.Select(g => g.Key).ToArray(), items.Select(i => i.RequestId).ToArray(), recordIds, accounts, existing, nowTicks, lateLock);
            // Read without locks, the batch writes under them only what its reads still decide: no settlement repeated
            // from an earlier batch, no interrupted record to replace (and, see LateLockApplies, no correction, one
            // writing instance). Anything else is read again under the locks (the caller's next attempt).
            if (lateLock && (existing.Count > 0 || interrupted > 0)) return null;
        }
        // The late lock's guard (see BatchLateLockGuardSql): per debited lot what it had when read; per account its
        // armed low-balance threshold and the batch's charges; per call its account's charges up to it.
        var lotRead = lateLock ? new Dictionary<long, long>() : null;
        var thresholdAccounts = new List<Guid>();
        var thresholds = new List<long>();
        var thresholdCharges = new List<long>();
        var cumulative = new List<long>();

        // The rows to write, each list in call order.
        var holdAccounts = new List<Guid>();
        var holdRequests = new List<string>();
        var holdAmounts = new List<long>();
        var chargeAmounts = new List<long>();
        var chargeOverages = new List<long>();
        var entryAfter = new List<long>();
        var allocRequests = new List<string>();
        var allocLots = new List<long?>();
        var allocAmounts = new List<long>();
        var debitLots = new List<long>();
        var debitAmounts = new List<long>();
        var overageAccounts = new List<Guid>();
        var overageAmounts = new List<long>();
        var leaseAccounts = new List<Guid>();
        var leaseInstances = new List<string>();
        var leaseAmounts = new List<long>();
        var settledIndexes = new List<(int Index, string RequestId)>();
        var notifications = new List<(Guid AccountId, Notifications.NotificationOutbox.LowBalanceState? Low, long Before, long After, string Request)>();
        foreach (var group in groups)
        {
            var accountId = group.Key;
            if (!accounts.TryGetValue(accountId, out var account))
            {
                foreach (var (_, index) in group) results[index] = SettleResult.Nothing(SettleStatus.UnknownAccount, Credits.Zero);
                continue;
            }
            var totals = account.Totals;
            var lots = account.Lots;
            lots.Sort(_burnDownOrder);
            var remaining = lots.ToDictionary(l => l.Id, l => l.Remaining);
            if (lotRead is not null) foreach (var lot in lots) lotRead[lot.Id] = lot.Remaining;
            // As the per-row path: results show what the account has after the charge as this instance sees it.
            var writer = group.Select(g => g.item.InstanceId).FirstOrDefault(i => i is not null);
            var ownLease = writer is null ? 0 : account.Leases.Where(l => l.Instance == writer).Select(l => l.Amount).FirstOrDefault();
            var blocked = totals.Blocked - ownLease;
            var debited = new Dictionary<long, long>();
            var leaseCharged = new Dictionary<string, long>(StringComparer.Ordinal);
            long overageAdded = 0, chargedTotal = 0;
            string? lastRequest = null;
            foreach (var (item, index) in group)
            {
                if (existing.TryGetValue(item.RequestId, out var hold))
                {
                    // Settled before (e.g. by a journal replay): charged once, so report that charge. Nothing of this
                    // batch is written yet, so it reads what the per-row path reads at this point.
                    results[index] = hold.Status == HoldStatuses.Settled
                        ? await RepeatSettleAsync(s, hold, totals, nowTicks)
                        : SettleResult.Nothing(SettleStatus.RequestIdConflict, Credits.Zero);
                    continue;
                }
                chargedTotal += item.Actual;
                cumulative.Add(chargedTotal);
                lastRequest = item.RequestId;
                var (allocations, overage) = AllocateInBatch(lots, remaining, debited, item.Actual, item.Scope);
                overageAdded += overage;
                if (item.InstanceId is { } instance) leaseCharged[instance] = leaseCharged.GetValueOrDefault(instance) + item.LeaseDecrement;
                var after = Available(remaining.Values.Sum(), blocked, totals.Overage + overageAdded);
                holdAccounts.Add(accountId);
                holdRequests.Add(item.RequestId);
                holdAmounts.Add(item.Held);
                chargeAmounts.Add(item.Actual);
                chargeOverages.Add(overage);
                entryAfter.Add(after);
                foreach (var allocation in allocations)
                {
                    allocRequests.Add(item.RequestId);
                    allocLots.Add(allocation.LotId);
                    allocAmounts.Add(allocation.Amount.Micro);
                }
                // The debt part is an allocation without a lot, so a charge's allocations always sum to the charge.
                if (overage > 0)
                {
                    allocRequests.Add(item.RequestId);
                    allocLots.Add(null);
                    allocAmounts.Add(overage);
                }
                settledIndexes.Add((index, item.RequestId));
                results[index] = new SettleResult(SettleStatus.Settled, new Credits(item.Actual), new Credits(overage), allocations,
                    new Credits(after), Repeated: false, ChargeId: null);
            }
            foreach (var (lotId, amount) in debited)
            {
                debitLots.Add(lotId);
                debitAmounts.Add(amount);
            }
            if (overageAdded > 0)
            {
                overageAccounts.Add(accountId);
                overageAmounts.Add(overageAdded);
            }
            foreach (var (instance, charged) in leaseCharged)
            {
                leaseAccounts.Add(accountId);
                leaseInstances.Add(instance);
                leaseAmounts.Add(charged);
            }
            // The account's balance before and after this batch's charges, as an exact settlement sees it for one call.
            if (lastRequest is not null) notifications.Add((accountId, account.Low, account.LotsTotal - totals.Overage, account.LotsTotal - totals.Overage - chargedTotal, lastRequest));
            if (lateLock && lastRequest is not null && _notify?.ArmedThreshold(account.Low) is { } threshold)
            {
                thresholdAccounts.Add(accountId);
                thresholds.Add(threshold);
                thresholdCharges.Add(chargedTotal);
            }
        }
        // A low-balance notification to write is decided under the locks (the reads may be a moment old).
        if (lateLock && _notify is not null && notifications.Any(n => _notify.WritesOnSettled(n.Low, n.After))) return null;
        if (items.Count > 0 && AfterBatchReadsForTests is { } pause) await pause();

        var now = ("@now", (object?)nowTicks);
        var statements = new List<(string Sql, (string Name, object? Value)[] Parameters)>();
        var lockedIds = groups.Select(g => g.Key).ToArray();
        var writerId = (object?)items.FirstOrDefault()?.InstanceId;
        var late = lateLock && items.Count > 0;
        if (late)
        {
            // The locks, then the guard and what is available under them, ahead of the writes (the same round trip).
            var lotIds = debitLots.ToArray();
            var lotFull = debitLots.Select((l, i) => lotRead![l] == debitAmounts[i]).ToArray();
            if (lockedIds.Length == 1)
            {
                statements.Add((BatchLockOneSql, [("@id", lockedIds[0])]));
                (string, object?)[] rest =
                    [now, ("@read", lotRead!.Keys.ToArray()), ("@id", lockedIds[0]), ("@th", thresholds.Count > 0 ? thresholds[0] : long.MinValue), ("@tc", thresholdCharges.Count > 0 ? thresholdCharges[0] : 0L)];
                statements.Add(lotIds.Length <= 1
                    ? (BatchLateLockGuardOneLotSql,
                        [.. rest, ("@l", lotIds.Length == 1 ? lotIds[0] : 0L), ("@x", lotIds.Length == 1 ? debitAmounts[0] : 0L), ("@f", lotIds.Length == 1 && lotFull[0])])
                    : (BatchLateLockGuardOneSql, [.. rest, ("@gl", lotIds), ("@gx", debitAmounts.ToArray()), ("@gf", lotFull)]));
                statements.Add((BatchLateLockBaseOneSql, [now, ("@id", lockedIds[0]), ("@w", writerId)]));
            }
            else
            {
                statements.Add((BatchLockExistingSql, [("@ids", lockedIds)]));
                statements.Add((BatchLateLockGuardSql,
                [
                    now, ("@gl", lotIds), ("@gx", debitAmounts.ToArray()), ("@gf", lotFull), ("@read", lotRead!.Keys.ToArray()), ("@ids", lockedIds),
                    ("@ta", thresholdAccounts.ToArray()), ("@tt", thresholds.ToArray()), ("@tc", thresholdCharges.ToArray()),
                ]));
                statements.Add((BatchLateLockBaseSql, [now, ("@ids", lockedIds), ("@w", writerId)]));
            }
        }
        if (holdRequests.Count > 0)
        {
            var requests = holdRequests.ToArray();
            statements.Add((BatchInsertHoldsAndChargesSql,
                [now, ("@a", holdAccounts.ToArray()), ("@r", requests), ("@hx", holdAmounts.ToArray()), ("@cx", chargeAmounts.ToArray()), ("@o", chargeOverages.ToArray())]));
            if (allocRequests.Count > 0)
                statements.Add((BatchInsertAllocationsSql, [("@r", allocRequests.ToArray()), ("@l", allocLots.ToArray()), ("@x", allocAmounts.ToArray())]));
            statements.Add(late
                ? lockedIds.Length == 1
                    ? (BatchInsertEntriesLateOneSql, [now, ("@r", requests), ("@cum", cumulative.ToArray()), ("@id", lockedIds[0]), ("@w", writerId)])
                    : (BatchInsertEntriesLateSql, [now, ("@r", requests), ("@cum", cumulative.ToArray()), ("@ids", lockedIds), ("@w", writerId)])
                : (BatchInsertEntriesSql, [now, ("@r", requests), ("@after", entryAfter.ToArray())]));
        }
        // Aggregated per batch: one row update per debited lot, the debt of each account and each lease.
        if (debitLots.Count > 0) statements.Add((BatchDebitLotsSql, [("@l", debitLots.ToArray()), ("@x", debitAmounts.ToArray())]));
        if (overageAccounts.Count > 0) statements.Add((BatchAddOverageSql, [now, ("@a", overageAccounts.ToArray()), ("@o", overageAmounts.ToArray())]));
        if (leaseAccounts.Count > 0)
            statements.Add((BatchLowerLeasesSql, [now, ("@a", leaseAccounts.ToArray()), ("@i", leaseInstances.ToArray()), ("@c", leaseAmounts.ToArray())]));
        // Rows of no account last: markers (deleted before records are inserted, as the sweep resolving a marker does), then records.
        AddAdmissionStatements(statements, admission, nowTicks);
        AddCallRecordStatements(s, statements, WithSettledRecords(items, results, records));

        long? markerId = null;
        List<(long Id, object?[] Values)>? replaced = null;
        // The writes are the transaction's last statements unless a record may replace an interrupted one, a correction
        // or a low-balance notification follows: then the COMMIT rides with them (no round trip of its own, and the
        // accounts' locks are held one round trip less).
        var commitInBatch = items.Count > 0 && interrupted == 0 && corrections is null
            && (_notify is null || !notifications.Any(n => _notify.WritesOnSettled(n.Low, n.After)));
        if (commitInBatch) s.CommitWithNextBatch();
        if (statements.Count > 0)
        {
            // Three statements return rows: the charges (request id, charge id), the new marker (its id) and the interrupted
            // records deleted to give way to the calls' own (id and rollup values).
            var chargeIds = new Dictionary<string, long>(StringComparer.Ordinal);
            var available = new Dictionary<Guid, long>();
            try
            {
                await using var reader = await s.BatchReaderAsync(statements);
                if (late)
                {
                    // The locks (rows unread), the guard (one row, or the error that ends the attempt), what is available.
                    while (await reader.ReadAsync()) { }
                    await reader.NextResultAsync();
                    while (await reader.ReadAsync()) { }
                    await reader.NextResultAsync();
                    while (await reader.ReadAsync()) available[reader.GetGuid(0)] = reader.GetInt64(1);
                    if (!await reader.NextResultAsync()) throw new InvalidOperationException("The late-locked batch returned no writes.");
                }
                do
                {
                    while (await reader.ReadAsync())
                    {
                        if (reader.FieldCount == 2) chargeIds[reader.GetString(0)] = reader.GetInt64(1);
                        else if (reader.FieldCount > 2) (replaced ??= []).Add((reader.GetInt64(0), RollupValues(reader, 1)));
                        else markerId = reader.GetInt64(0);
                    }
                }
                while (await reader.NextResultAsync());
            }
            catch (Npgsql.PostgresException ex) when (late && IsLateLockConflict(ex))
            {
                // The reads changed before the locks (or a deadlock, or a request id settled meanwhile): nothing was
                // written; the caller reads the batch again under its locks.
                Interlocked.Increment(ref _lateLockRetries);
                return null;
            }
            foreach (var (index, requestId) in settledIndexes) results[index] = results[index] with { ChargeId = chargeIds[requestId] };
            if (late)
            {
                // What each call leaves available, from what its account had under the lock (as its activity entry shows).
                var n = 0;
                foreach (var (index, _) in settledIndexes)
                {
                    var after = Math.Max(0, available[items[index].AccountId] - cumulative[n++]);
                    results[index] = results[index] with { Available = new Credits(after) };
                }
            }
        }
        if (commitInBatch)
        {
            await s.CommitAsync();
            // An interrupted record stored between the reads and the writes (a race of well under a millisecond) was
            // replaced all the same: it leaves the rollups in a transaction of its own.
            if (replaced is not null)
            {
                await using var after = await BeginAsync(CancellationToken.None);
                await UnfoldRolledUpAsync(after, replaced);
                await after.CommitAsync();
            }
            return new LeaseBatchResult(results, markerId);
        }
        // Rare: interrupted records the rollups may hold were replaced; out of the rollups with them.
        if (replaced is not null) await UnfoldRolledUpAsync(s, replaced);
        // Rare (an outcome that changed after its settlement): a round trip each, as on the statement-per-row path.
        if (corrections is not null) foreach (var correction in corrections) await ReplaceCallRecordAsync(s, correction);
        if (_notify is not null)
        {
            foreach (var (accountId, low, before, after, request) in notifications) await _notify.OnSettledAsync(s, accountId, low, before, after, request, nowTicks);
        }
        await s.CommitAsync();
        return new LeaseBatchResult(results, markerId);
    }

    private long _lateLockRetries;

    /// <summary>
    /// Whether a PostgreSQL batch may try the late lock at all (decided before its reads): settlements of one writing
    /// instance's leases (journal replays have none), and no record correction (written after the batch's writes).
    /// </summary>
    private static bool LateLockApplies(IReadOnlyList<LeasedSettlement> items, IReadOnlyList<CallRecord>? corrections) =>
        items.Count > 0 && corrections is null && items[0].InstanceId is { } writer && items.All(i => i.InstanceId == writer);

    /// <summary>PostgreSQL batches whose reads changed before their late lock, and were read again under it (tests, stats).</summary>
    internal long LateLockRetries => Interlocked.Read(ref _lateLockRetries);

    private static bool IsLateLockConflict(Npgsql.PostgresException ex) =>
        (ex.SqlState == "22P02" && ex.MessageText.Contains(LateLockMarker, StringComparison.Ordinal))
        || ex.SqlState is Npgsql.PostgresErrorCodes.UniqueViolation or Npgsql.PostgresErrorCodes.DeadlockDetected;

    /// <summary>Tests: runs between a PostgreSQL settlement batch's reads and its writes (another transaction may commit then).</summary>
    internal Func<Task>? AfterBatchReadsForTests { get; set; }

    /// <summary>
    /// Takes replaced interrupted records out of the rollups that already hold them (a rollup step that passed them before
    /// the watermark's lock did so while they were still there, one after it never sees them).
    /// </summary>
    private static async Task UnfoldRolledUpAsync(LedgerSession s, List<(long Id, object?[] Values)> replaced)
    {
        var watermark = await LockRollupWatermarkAsync(s);
        foreach (var (_, values) in replaced.Where(r => r.Id <= watermark)) await UnfoldAsync(s, values);
    }

    /// <summary>
    /// The first round trip of a batch: locks its accounts (existing lock rows in the database's order, then those
    /// created now) and reads their totals, unexpired leases, spendable lots and low-balance state, and the holds its
    /// request ids already have. Unknown accounts are left out of <paramref name="accounts"/>.
    /// </summary>
    private async Task<long> ReadBatchAsync(
        LedgerSession s, Guid[] ids, string[] requestIds, string[] recordIds, Dictionary<Guid, BatchAccount> accounts, Dictionary<string, HoldRow> existing,
        long nowTicks, bool lateLock)
    {
        var one = ids.Length == 1;
        var statements = new List<(string Sql, (string Name, object? Value)[] Parameters)>
        {
            lateLock
                ? one ? (BatchReadOneSql, [("@id", ids[0])]) : (BatchReadExistingSql, [("@ids", ids)])
                : one ? (BatchLockOneSql, [("@id", ids[0])]) : (BatchLockExistingSql, [("@ids", ids)]),
            (BatchCreateLockRowsSql, [("@ids", ids), ("@now", nowTicks)]),
            lateLock
                ? one ? (BatchTotalsOneNoLockSql, [("@id", ids[0])]) : (BatchTotalsNoLockSql, [("@ids", ids)])
                : one ? (BatchTotalsOneSql, [("@id", ids[0])]) : (BatchTotalsSql, [("@ids", ids)]),
            one ? (BatchLeasesOneSql, [("@id", ids[0]), ("@now", nowTicks)]) : (BatchLeasesSql, [("@ids", ids), ("@now", nowTicks)]),
            (BatchLotsSql, [("@ids", ids), ("@now", nowTicks)]),
            (BatchHoldsSql, [("@r", requestIds)]),
        };
        if (_notify is not null)
            statements.Add(($"SELECT n.account_id, {Notifications.NotificationOutbox.LowBalanceColumns} FROM notification_accounts n WHERE n.account_id = ANY(@ids)", [("@ids", ids)]));
        statements.Add(("SELECT COUNT(*) FROM call_records WHERE request_id = ANY(@r) AND usage_source = @interrupted",
            [("@r", recordIds), ("@interrupted", CallRecord.InterruptedUsageSource)]));
        await using var reader = await s.BatchReaderAsync(statements);
        while (await reader.ReadAsync()) { } // the existing lock rows, locked
        await reader.NextResultAsync();
        while (await reader.ReadAsync()) { } // the lock rows created now
        await reader.NextResultAsync();
        while (await reader.ReadAsync())
        {
            accounts[reader.GetGuid(0)] = new BatchAccount(new AccountTotals(reader.GetInt64(1), reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetString(3)));
        }
        await reader.NextResultAsync();
        while (await reader.ReadAsync())
        {
            if (!accounts.TryGetValue(reader.GetGuid(0), out var account)) continue;
            var amount = reader.GetInt64(2);
            account.Totals.Leased += amount;
            account.Leases.Add((reader.GetString(1), amount));
        }
        await reader.NextResultAsync();
        while (await reader.ReadAsync())
        {
            if (!accounts.TryGetValue(reader.GetGuid(0), out var account)) continue;
            var lot = new SpendableLot(reader.GetInt64(1), reader.GetString(2), reader.GetInt64(3), reader.GetInt64(4),
                reader.IsDBNull(5) ? null : reader.GetInt64(5), reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.IsDBNull(7) ? null : reader.GetString(7));
            account.LotsTotal += lot.Remaining;
            account.Lots.Add(lot);
        }
        await reader.NextResultAsync();
        while (await reader.ReadAsync())
        {
            var requestId = reader.GetString(0);
            existing[requestId] = new HoldRow(reader.GetInt64(1), reader.GetGuid(2), requestId, reader.GetInt64(3), reader.GetString(4),
                reader.IsDBNull(5) ? null : reader.GetInt64(5));
        }
        if (_notify is not null)
        {
            await reader.NextResultAsync();
            while (await reader.ReadAsync())
            {
                if (accounts.TryGetValue(reader.GetGuid(0), out var account)) account.Low = Notifications.NotificationOutbox.ReadLowBalance(reader, 1);
            }
        }
        await reader.NextResultAsync();
        await reader.ReadAsync();
        return reader.GetInt64(0);
    }

    /// <summary>Adds the statements of <see cref="WriteAdmissionsAsync"/> to a batch (the insert returns the new marker's id).</summary>
    private void AddAdmissionStatements(List<(string Sql, (string Name, object? Value)[] Parameters)> statements, AdmissionBatch? admission, long nowTicks)
    {
        if (admission is null) return;
        if (admission.Finished.Count > 0)
        {
            statements.Add((
                "DELETE FROM lease_admissions WHERE id IN (SELECT id FROM lease_admissions WHERE id = ANY(@ids) ORDER BY id FOR UPDATE)",
                [("@ids", admission.Finished.ToArray())]));
        }
        if (admission.AdmittedJson is null) return;
        statements.Add((
            "INSERT INTO lease_admissions (instance_id, expires_at, records, created_at) VALUES (@i, @exp, @records, @now) RETURNING id",
            [("@i", admission.InstanceId), ("@exp", nowTicks + _options.LeaseTtl.Ticks), ("@records", admission.AdmittedJson), ("@now", nowTicks)]));
    }

    /// <summary>
    /// The batch's records plus those riding with its settlements, each showing what this batch charged its call (a
    /// repeated settlement: the charge made before) — as the statement-per-row path writes them.
    /// </summary>
    private static IReadOnlyList<CallRecord> WithSettledRecords(IReadOnlyList<LeasedSettlement> items, SettleResult[] results, IReadOnlyList<CallRecord> records)
    {
        List<CallRecord>? all = null;
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i].Record is not { } settled) continue;
            settled.ChargedMicro = results[i].Charged.Micro;
            settled.OverageMicro = results[i].Overage.Micro;
            (all ??= [.. records]).Add(settled);
        }
        return all ?? records;
    }

    /// <summary>
    /// Adds the statements of <see cref="InsertCallRecordAsync"/> for every record to a batch: an existing record gives
    /// way only when it is <c>interrupted</c> (deleted first, its values returned for the rollups), any other is kept
    /// (the insert does nothing).
    /// </summary>
    private static void AddCallRecordStatements(LedgerSession s, List<(string Sql, (string Name, object? Value)[] Parameters)> statements, IReadOnlyList<CallRecord> records)
    {
        if (records.Count == 0) return;
        var requestIds = records.Select(r => r.RequestId).ToArray();
        statements.Add((
            $"DELETE FROM call_records WHERE request_id = ANY(@r) AND usage_source = @interrupted RETURNING id, {string.Join(", ", History.UsageRollupStep.CallColumns)}",
            [("@r", requestIds), ("@interrupted", CallRecord.InterruptedUsageSource)]));
        if (records.Count == 1) statements.Add((InsertCallRecordSql + " ON CONFLICT (request_id) DO NOTHING", CallRecordParameters(s, records[0])));
        else statements.Add((InsertCallRecordsUnnestSql, CallRecordColumns(records)));
    }
}
