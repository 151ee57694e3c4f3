using System.Text.Json;
using AiGateway.Pricing;
using AiGateway.Storage;

namespace AiGateway.Ledger;

public sealed partial class CreditLedger
{
    /// <summary>
    /// Reserves <paramref name="amount"/> for a request, atomically: succeeds only if available credits
    /// (unexpired remaining − active holds − overage debt) cover it and the account is not in debt.
    /// Repeating an active request id returns the existing hold. With a <paramref name="task"/>, the hold is tagged with
    /// it and, when the task has a budget (<paramref name="taskBudget"/> sets or lowers it), refused with
    /// <see cref="ReserveStatus.TaskBudgetExceeded"/> unless the task's charges + active holds + this amount fit in it.
    /// With a <paramref name="scope"/>, only the lots that may pay for that model and modality count as spendable;
    /// active holds still count in full against every scope (holds are account-wide), so scoped credits held by one
    /// call can never be promised to another call too.
    /// The <paramref name="interruptedRecord"/> is kept beside the hold (<c>credit_hold_records</c>) and stored as the call's record if the hold expires
    /// unresolved (the gateway stopped before the call ended, e.g. kill -9); see <see cref="ExpireHoldsAsync"/>.
    /// </summary>
    public async Task<ReserveResult> ReserveAsync(
        Guid accountId, Credits amount, string requestId, CancellationToken cancellationToken = default,
        string? task = null, Credits? taskBudget = null, CallScope? scope = null, CallRecord? interruptedRecord = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(amount.Micro, nameof(amount));
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        var now = _time.GetUtcNow();
        var nowTicks = now.UtcTicks;
        await using var s = await BeginAsync(cancellationToken);
        var id = s.Id(accountId);
        AccountTotals totals;
        long spendable;
        (long Id, long Amount, string Status)? existing = null;
        // One round trip: lock (and create) the account row, sum the spendable lots, look for this request's hold.
        await using (var reader = await s.ReaderAsync(
            LockAccountSql(s) + ";\n" + (scope is null ? SpendableSql : ScopedLotsSql) + ";\nSELECT id, amount, status FROM credit_holds WHERE request_id = @r",
            ("@a", id), ("@now", nowTicks), ("@r", requestId)))
        {
            if (!await reader.ReadAsync()) return new ReserveResult(ReserveStatus.UnknownAccount, null, Credits.Zero, Credits.Zero);
            totals = await ReadTotalsAsync(reader);
            await reader.NextResultAsync();
            if (scope is null)
            {
                await reader.ReadAsync();
                spendable = reader.GetInt64(0);
            }
            else
            {
                spendable = await SumApplicableAsync(reader, scope);
            }
            await reader.NextResultAsync();
            if (await reader.ReadAsync()) existing = (reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2));
        }
        var issue = await EnsurePlanLotsAsync(s, accountId, totals, now);
        if (issue.Lots.Count > 0) spendable = await SpendableSumAsync(s, accountId, nowTicks, scope);
        var available = Available(spendable, totals.Blocked, totals.Overage);

        ReserveResult result;
        if (existing is { } hold)
        {
            var status = hold.Status == HoldStatuses.Active ? ReserveStatus.AlreadyReserved : ReserveStatus.RequestAlreadyUsed;
            result = new ReserveResult(status, hold.Id, new Credits(hold.Amount), new Credits(available));
        }
        else if (task is not null && !await TaskBudgetAllowsAsync(s, accountId, task, taskBudget, amount.Micro, nowTicks))
        {
            result = new ReserveResult(ReserveStatus.TaskBudgetExceeded, null, Credits.Zero, new Credits(available));
            if (_notify is not null) await _notify.OnTaskBudgetRefusedAsync(s, accountId, task, requestId, nowTicks);
        }
        else if (totals.Overage > 0 || available < amount.Micro)
        {
            // Credits may sit unused in other instances' leases: ask them back (their holders see it within a refresh).
            if (totals.Leased > 0 && totals.Overage == 0) await RecallLeasesAsync(s, accountId, nowTicks, LeaseInstanceId);
            result = new ReserveResult(ReserveStatus.InsufficientCredits, null, Credits.Zero, new Credits(available));
            if (_notify is not null) await _notify.OnRefusedAsync(s, accountId, available, amount.Micro, requestId, nowTicks);
        }
        else
        {
            var after = available - amount.Micro;
            // One round trip: the hold (with its interrupted record beside it), the account's held total and the activity entry.
            var parameters = new List<(string, object?)>
            {
                ("@a", id), ("@r", requestId), ("@amount", amount.Micro), ("@now", nowTicks),
                ("@exp", nowTicks + _options.HoldTtl.Ticks), ("@after", after), ("@task", task),
            };
            var sql = """
                INSERT INTO credit_holds (account_id, request_id, amount, status, created_at, expires_at, task)
                VALUES (@a, @r, @amount, 'active', @now, @exp, @task) RETURNING id;
                UPDATE ledger_accounts SET held = held + @amount, updated_at = @now WHERE account_id = @a;
                INSERT INTO ledger_entries (account_id, at, type, amount, available_after, hold_id, request_id)
                VALUES (@a, @now, 'hold', @amount, @after, (SELECT id FROM credit_holds WHERE request_id = @r), @r)
                """;
            if (interruptedRecord is not null)
            {
                sql += ";\n" + "INSERT INTO credit_hold_records (hold_id, record) VALUES ((SELECT id FROM credit_holds WHERE request_id = @r), @record)";
                parameters.Add(("@record", JsonSerializer.Serialize(interruptedRecord, CallRecordJson.Default.CallRecord)));
            }
            // The transaction's last statements: on PostgreSQL the COMMIT rides with them (no round trip of its own).
            s.CommitWithNextBatch();
            var holdId = (await s.BatchAsync(sql, [.. parameters]))!.Value;
            result = new ReserveResult(ReserveStatus.Reserved, holdId, amount, new Credits(after));
        }
        await s.CommitAsync(); // also keeps any plan credits issued above
        RememberIssued(accountId, issue);
        return result;
    }

    /// <summary>
    /// Settles a request's hold with the actual cost: debits lots in burn-down order, records what they cannot
    /// cover as overage debt, and releases the rest of the hold. Exactly once: a repeat returns the first result.
    /// A hold that was released charges nothing; a hold the sweep expired is still charged (the call happened).
    /// With a <paramref name="scope"/>, lots that may not pay for it are skipped (what the rest cannot cover is overage).
    /// </summary>
    public async Task<SettleResult> SettleAsync(string requestId, Credits actual, CancellationToken cancellationToken = default, CallScope? scope = null) =>
        (await SettleAsync(requestId, actual, record: null, cancellationToken, scope)).Result;

    /// <summary>
    /// Settles a request's hold as <see cref="SettleAsync(string, Credits, CancellationToken, CallScope?)"/> does, with the
    /// call's <paramref name="record"/> in the same transaction when the hold settles (its charged and overage fields set
    /// to what the settlement made): the charge and the record commit together, so no crash can leave a charge without
    /// its record. An existing record is kept unless it is <c>interrupted</c> (the sweep's, for a hold it expired).
    /// <c>RecordStored</c> false: the hold did not settle here (not found, released), the caller records the call itself.
    /// </summary>
    public async Task<(SettleResult Result, bool RecordStored)> SettleAsync(
        string requestId, Credits actual, CallRecord? record, CancellationToken cancellationToken = default, CallScope? scope = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(actual.Micro, nameof(actual));
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        var nowTicks = _time.GetUtcNow().UtcTicks;
        await using var s = await BeginAsync(cancellationToken);
        AccountTotals totals;
        HoldRow hold;
        var lots = new List<SpendableLot>();
        long lotsTotal;
        Notifications.NotificationOutbox.LowBalanceState? low = null;
        // One round trip: lock the hold's account, then (statements run in order, so after the lock) read the
        // hold and the account's spendable lots. A concurrent settle of the same request is seen as settled.
        await using (var reader = await s.ReaderAsync(
            _settleReadSql ??= LockHoldAccountSql(s, lowBalance: true) + ";\n" + HoldLeasesAndHoldSql + """
            SELECT id, kind, remaining, effective_at, expires_at, model_scope, modality_scope FROM credit_lots
            WHERE account_id = (SELECT account_id FROM credit_holds WHERE request_id = @r)
              AND remaining > 0 AND effective_at <= @now AND (expires_at IS NULL OR expires_at > @now)
            """,
            ("@r", requestId), ("@now", nowTicks)))
        {
            if (!await reader.ReadAsync()) return (SettleResult.Nothing(SettleStatus.NotFound, Credits.Zero), false);
            totals = new AccountTotals(reader.GetInt64(0), reader.GetInt64(1), null);
            if (_notify is not null)
            {
                await reader.NextResultAsync();
                if (await reader.ReadAsync()) low = Notifications.NotificationOutbox.ReadLowBalance(reader, 0);
            }
            hold = await ReadLeasesAndHoldAsync(reader, totals, requestId);
            await reader.NextResultAsync();
            lotsTotal = await ReadSpendableLotsAsync(reader, lots, scope);
        }
        // An active hold's call has no record yet (an interrupted one is stored only when the sweep expires the hold):
        // its record rides in the charge's own batch of statements, no round trip of its own.
        var inBatch = record is not null && hold.Status == HoldStatuses.Active;
        // An active hold's charge batch is the transaction's last statements (its record rides in it): on PostgreSQL the
        // COMMIT rides with it too, unless a notification still has to be written after it.
        var result = await SettleHoldAsync(s, hold, totals, actual.Micro, nowTicks, scope, new SettleContext(lots, lotsTotal, low), inBatch ? record : null,
            last: hold.Status == HoldStatuses.Active && (record is null || inBatch));
        var recordStored = false;
        if (record is not null && result.Status is SettleStatus.Settled)
        {
            if (!inBatch)
            {
                // A repeated settlement shows the charge made before, as the lease batches' records do; a late one
                // replaces the interrupted record the sweep stored.
                record.ChargedMicro = result.Charged.Micro;
                record.OverageMicro = result.Overage.Micro;
                await InsertCallRecordAsync(s, record);
            }
            recordStored = true;
        }
        await s.CommitAsync();
        return (result, recordStored);
    }

    /// <summary>
    /// Locks the account of the hold <c>@r</c> and reads its totals; with notifications on and <paramref name="lowBalance"/>, then its low-balance state in a
    /// statement of its own in the same batch (no extra round trip). Its own statement, after the lock: on PostgreSQL
    /// (READ COMMITTED) a statement reads the snapshot taken when it started, so a join inside the locking SELECT could miss
    /// a re-arm committed while it waited for the lock.
    /// </summary>
    private string LockHoldAccountSql(LedgerSession s, bool lowBalance) =>
        "SELECT held, overage FROM ledger_accounts WHERE account_id = (SELECT account_id FROM credit_holds WHERE request_id = @r)" +
        (s.IsPostgres ? " FOR UPDATE" : "") +
        (_notify is null || !lowBalance ? "" : $";\nSELECT {Notifications.NotificationOutbox.LowBalanceColumns} FROM notification_accounts n " +
            "WHERE n.account_id = (SELECT account_id FROM credit_holds WHERE request_id = @r)");

    // The exact settlement's and release's reads, built once per ledger (its provider and notifications never change).
    private string? _settleReadSql;
    private string? _releaseReadSql;

    /// <summary>After <see cref="LockHoldAccountSql"/>: the hold's account's unexpired leases, then the hold (<c>@r</c>, <c>@now</c>).</summary>
    private const string HoldLeasesAndHoldSql = """
        SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM credit_leases
        WHERE account_id = (SELECT account_id FROM credit_holds WHERE request_id = @r) AND expires_at > @now;
        """ + HoldSql + ";\n";

    /// <summary>Reads the two result sets of <see cref="HoldLeasesAndHoldSql"/> (the reader on the result set before them).</summary>
    private static async Task<HoldRow> ReadLeasesAndHoldAsync(System.Data.Common.DbDataReader reader, AccountTotals totals, string requestId)
    {
        await reader.NextResultAsync();
        await reader.ReadAsync();
        totals.Leased = reader.GetInt64(0);
        await reader.NextResultAsync();
        await reader.ReadAsync();
        return ReadHold(reader, requestId);
    }

    /// <summary>What a settlement read with its lock: the spendable lots that may pay, the sum of all spendable lots, the low-balance state.</summary>
    private sealed record SettleContext(List<SpendableLot> Lots, long LotsTotal, Notifications.NotificationOutbox.LowBalanceState? Low);

    /// <summary>Moves an active hold's expiry to <paramref name="expiresAt"/> (an asynchronous job outlives the usual TTL); false when not active.</summary>
    public async Task<bool> ExtendHoldAsync(string requestId, DateTimeOffset expiresAt, CancellationToken cancellationToken = default)
    {
        await using var s = await BeginAsync(cancellationToken);
        var changed = await s.ExecuteAsync("UPDATE credit_holds SET expires_at = @exp WHERE request_id = @r AND status = 'active'",
            ("@exp", expiresAt.UtcTicks), ("@r", requestId));
        await s.CommitAsync();
        return changed == 1;
    }

    /// <summary>
    /// Renews the holds of calls still in flight, in one transaction: each active hold among <paramref name="requestIds"/>
    /// expires at <paramref name="expiresAt"/> from now on (never earlier than it already did: a video job's longer
    /// expiry stays). Returns the request ids whose hold the sweep had already expired: their credits may have been
    /// promised to other calls since, so those calls must stop. Settled and released holds are left as they are.
    /// </summary>
    public async Task<IReadOnlyList<string>> ExtendHoldsAsync(
        IReadOnlyCollection<string> requestIds, DateTimeOffset expiresAt, CancellationToken cancellationToken = default)
    {
        if (requestIds.Count == 0) return [];
        await using var s = await BeginAsync(cancellationToken);
        // One statement whatever the count: an array on PostgreSQL, a JSON array on SQLite (one prepared statement, no IN list per size).
        object ids = s.IsPostgres ? requestIds.ToArray() : JsonSerializer.Serialize(requestIds);
        var inSet = s.IsPostgres ? "request_id = ANY(@ids)" : "request_id IN (SELECT value FROM json_each(@ids))";
        await s.ExecuteAsync($"UPDATE credit_holds SET expires_at = @exp WHERE {inSet} AND status = 'active' AND expires_at < @exp",
            ("@ids", ids), ("@exp", expiresAt.UtcTicks));
        var expired = new List<string>();
        await using (var reader = await s.ReaderAsync($"SELECT request_id FROM credit_holds WHERE {inSet} AND status = 'expired'", ("@ids", ids)))
        {
            while (await reader.ReadAsync()) expired.Add(reader.GetString(0));
        }
        await s.CommitAsync();
        return expired;
    }

    /// <summary>Releases a request's hold at no cost; resolving an already resolved hold changes nothing.</summary>
    public async Task<ReleaseResult> ReleaseAsync(string requestId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        var nowTicks = _time.GetUtcNow().UtcTicks;
        await using var s = await BeginAsync(cancellationToken);
        AccountTotals totals;
        HoldRow hold;
        long spendable;
        // One round trip: lock the hold's account, then (statements run in order, so after the lock) read its leases, the
        // hold and the spendable lots — a release changes no lot, so what is available after it follows from these.
        // A concurrent settle or release of the same request is seen as resolved.
        await using (var reader = await s.ReaderAsync(
            _releaseReadSql ??= LockHoldAccountSql(s, lowBalance: false) + ";\n" + HoldLeasesAndHoldSql + """
            SELECT CAST(COALESCE(SUM(remaining), 0) AS BIGINT) FROM credit_lots
            WHERE account_id = (SELECT account_id FROM credit_holds WHERE request_id = @r)
              AND remaining > 0 AND effective_at <= @now AND (expires_at IS NULL OR expires_at > @now)
            """,
            ("@r", requestId), ("@now", nowTicks)))
        {
            if (!await reader.ReadAsync()) return new ReleaseResult(ReleaseStatus.NotFound, Credits.Zero, Credits.Zero);
            totals = new AccountTotals(reader.GetInt64(0), reader.GetInt64(1), null);
            hold = await ReadLeasesAndHoldAsync(reader, totals, requestId);
            await reader.NextResultAsync();
            await reader.ReadAsync();
            spendable = reader.GetInt64(0);
        }
        var status = hold.Status switch
        {
            HoldStatuses.Active => ReleaseStatus.Released,
            HoldStatuses.Released => ReleaseStatus.AlreadyReleased,
            HoldStatuses.Settled => ReleaseStatus.AlreadySettled,
            _ => ReleaseStatus.AlreadyExpired,
        };
        if (status != ReleaseStatus.Released)
        {
            return new ReleaseResult(status, Credits.Zero, new Credits(Available(spendable, totals.Blocked, totals.Overage)));
        }
        var available = await ResolveHoldAsync(s, hold, totals, HoldStatuses.Released, LedgerEntryTypes.Release, note: null, nowTicks, last: true, spendable);
        await s.CommitAsync();
        return new ReleaseResult(ReleaseStatus.Released, new Credits(hold.Amount), new Credits(available));
    }

    /// <summary>
    /// Charges a fixed price in one step (reserve + settle in one transaction), idempotent by request id:
    /// refused without charge when available credits do not cover it; a repeat returns the first result.
    /// A <paramref name="scope"/> limits the lots that count and pay as in <see cref="ReserveAsync"/>. A
    /// <paramref name="fingerprint"/> of the request's parameters is stored with the charge; a repeat whose fingerprint
    /// differs is refused with <see cref="SettleStatus.IdempotencyConflict"/> instead of answered with the first result.
    /// </summary>
    public async Task<SettleResult> ChargeAsync(
        Guid accountId, Credits amount, string requestId, CancellationToken cancellationToken = default, CallScope? scope = null,
        string? fingerprint = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(amount.Micro, nameof(amount));
        ArgumentException.ThrowIfNullOrEmpty(requestId);
        var now = _time.GetUtcNow();
        var nowTicks = now.UtcTicks;
        await using var s = await BeginAsync(cancellationToken);
        var totals = await LockAccountAsync(s, accountId, nowTicks);
        if (totals is null) return SettleResult.Nothing(SettleStatus.UnknownAccount, Credits.Zero);
        var issue = await EnsurePlanLotsAsync(s, accountId, totals, now);
        SettleResult result;
        var hold = await FindHoldAsync(s, requestId);
        if (hold is not null && hold.AccountId != accountId)
        {
            result = SettleResult.Nothing(SettleStatus.RequestIdConflict, new Credits(await AvailableAsync(s, accountId, totals, nowTicks)));
        }
        else if (hold is not null && fingerprint is not null && await HoldFingerprintAsync(s, hold.Id) is { } stored && stored != fingerprint)
        {
            result = SettleResult.Nothing(SettleStatus.IdempotencyConflict, new Credits(await AvailableAsync(s, accountId, totals, nowTicks)));
        }
        else if (hold is not null)
        {
            result = await SettleHoldAsync(s, hold, totals, amount.Micro, nowTicks, scope);
        }
        else
        {
            var available = Available(await SpendableSumAsync(s, accountId, nowTicks, scope), totals.Blocked, totals.Overage);
            if (totals.Overage > 0 || available < amount.Micro)
            {
                result = SettleResult.Nothing(SettleStatus.InsufficientCredits, new Credits(available));
                if (_notify is not null) await _notify.OnRefusedAsync(s, accountId, available, amount.Micro, requestId, nowTicks);
            }
            else
            {
                // The hold row is written already settled: it carries the request id's uniqueness and exactly-once state.
                var holdId = await InsertHoldAsync(s, accountId, requestId, amount.Micro, HoldStatuses.Settled, nowTicks);
                if (fingerprint is not null)
                {
                    await s.ExecuteAsync("UPDATE credit_holds SET fingerprint = @f WHERE id = @id", ("@f", fingerprint), ("@id", holdId));
                }
                var newHold = new HoldRow(holdId, accountId, requestId, amount.Micro, HoldStatuses.Settled, null);
                result = await ChargeLotsAsync(s, newHold, totals, amount.Micro, nowTicks, wasActive: false, scope);
            }
        }
        await s.CommitAsync();
        RememberIssued(accountId, issue);
        return result;
    }

    /// <summary>The parameters' fingerprint stored with a one-step charge (null for holds of calls and for older rows).</summary>
    private static async Task<string?> HoldFingerprintAsync(LedgerSession s, long holdId)
    {
        await using var reader = await s.ReaderAsync("SELECT fingerprint FROM credit_holds WHERE id = @id", ("@id", holdId));
        return await reader.ReadAsync() && !reader.IsDBNull(0) ? reader.GetString(0) : null;
    }

    private sealed record HoldRow(long Id, Guid AccountId, string RequestId, long Amount, string Status, long? ChargeId);

    private const string HoldSql = "SELECT id, account_id, amount, status, charge_id FROM credit_holds WHERE request_id = @r";

    private static HoldRow ReadHold(System.Data.Common.DbDataReader reader, string requestId) =>
        new(reader.GetInt64(0), LedgerSession.ReadGuid(reader, 1), requestId, reader.GetInt64(2), reader.GetString(3),
            reader.IsDBNull(4) ? null : reader.GetInt64(4));

    private static async Task<HoldRow?> FindHoldAsync(LedgerSession s, string requestId)
    {
        await using var reader = await s.ReaderAsync(HoldSql, ("@r", requestId));
        return await reader.ReadAsync() ? ReadHold(reader, requestId) : null;
    }

    /// <summary>
    /// Reads lot rows (id, kind, remaining, effective_at, expires_at, model_scope, modality_scope), keeping those that may pay for
    /// <paramref name="scope"/>; returns the remaining of all of them (the account's spendable credits, whatever the scope).
    /// </summary>
    private static async Task<long> ReadSpendableLotsAsync(System.Data.Common.DbDataReader reader, List<SpendableLot> lots, CallScope? scope)
    {
        long total = 0;
        while (await reader.ReadAsync())
        {
            total += reader.GetInt64(2);
            var lot = new SpendableLot(reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3),
                reader.IsDBNull(4) ? null : reader.GetInt64(4), reader.IsDBNull(5) ? null : reader.GetString(5),
                reader.IsDBNull(6) ? null : reader.GetString(6));
            if (LotScope.Applies(lot.ModelScope, lot.ModalityScope, scope)) lots.Add(lot);
        }
        return total;
    }

    private async Task<long> InsertHoldAsync(LedgerSession s, Guid accountId, string requestId, long amount, string status, long nowTicks) =>
        (await s.ScalarAsync(
            """
            INSERT INTO credit_holds (account_id, request_id, amount, status, created_at, expires_at, resolved_at)
            VALUES (@a, @r, @amount, @status, @now, @exp, @resolved) RETURNING id
            """,
            ("@a", s.Id(accountId)), ("@r", requestId), ("@amount", amount), ("@status", status), ("@now", nowTicks),
            ("@exp", nowTicks + _options.HoldTtl.Ticks), ("@resolved", status == HoldStatuses.Active ? null : nowTicks)))!.Value;

    private async Task<SettleResult> SettleHoldAsync(
        LedgerSession s, HoldRow hold, AccountTotals totals, long actual, long nowTicks, CallScope? scope, SettleContext? read = null,
        CallRecord? record = null, bool last = false)
    {
        switch (hold.Status)
        {
            case HoldStatuses.Settled:
                return await RepeatSettleAsync(s, hold, totals, nowTicks);
            case HoldStatuses.Released:
                return SettleResult.Nothing(SettleStatus.Released, new Credits(await AvailableAsync(s, hold.AccountId, totals, nowTicks)));
            default:
                var wasActive = hold.Status == HoldStatuses.Active;
                return await ChargeLotsAsync(s, hold, totals, actual, nowTicks, wasActive, scope, read, record, last);
        }
    }
}
