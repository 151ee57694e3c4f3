using System.Text.Json;
using AiGateway.Pricing;
using AiGateway.Storage;

namespace AiGateway.Ledger;

// Credit leases (see CreditLeases for the in-memory side): taking, resizing, renewing and returning an instance's
// lease, and writing the settlements of leased calls in batches. Each is one transaction under the account lock.
//
// Lock order on PostgreSQL (SQLite has one writer at a time, so no row locks): a transaction takes the row lock of
// every account it touches first — several accounts in one statement, ORDER BY account_id — and only then rows of
// lots, holds and leases of those accounts; admission markers and call records (rows of no account) come last. So no
// transaction ever waits for an account while holding a lease row another waits for: lease renewal, resize, recall
// (under the reserving or revoking account's lock), settlement batches, exact holds and admin changes cannot deadlock.
public sealed partial class CreditLedger
{
    /// <summary>The lease an instance holds after <see cref="ResizeLeaseAsync"/>.</summary>
    /// <param name="Amount">Micro-credits now leased (0: none).</param>
    /// <param name="ExpiresAtTicks">When the lease stops counting unless renewed.</param>
    /// <param name="BackedUntilTicks">The latest expiry a renewal may give the lease: every lot it was sized from is valid until then.</param>
    /// <param name="Outside">The account's available credits apart from this instance's lease (for headers and balances).</param>
    /// <param name="Exact">True when the account's credits are too low (or in debt) for a lease: hold exactly in the database.</param>
    /// <param name="Known">False for an unknown account.</param>
    internal sealed record LeaseState(long Amount, long ExpiresAtTicks, long BackedUntilTicks, long Outside, bool Exact, bool Known);

    /// <summary>
    /// One leased call to settle in a batch; <paramref name="LeaseDecrement"/> is what its charge takes off the instance's
    /// lease. <paramref name="Record"/>: the call's record, stored in the same transaction with the charge and overage
    /// the settlement made (its charged and overage fields are set from them), so one commit carries both.
    /// </summary>
    internal sealed record LeasedSettlement(
        Guid AccountId, string RequestId, long Held, long Actual, CallScope? Scope, string? InstanceId, long LeaseDecrement, CallRecord? Record = null);

    /// <summary>
    /// The admission side of a batch or renewal: the interrupted records of calls this instance admitted against its
    /// leases since the last one (<paramref name="AdmittedJson"/>, a JSON array of them, one marker row; null: none) and
    /// the markers whose calls are all recorded now (deleted).
    /// </summary>
    internal sealed record AdmissionBatch(string InstanceId, string? AdmittedJson, IReadOnlyList<long> Finished);

    /// <summary>What a batch wrote: the settlements' results in order, and the id of the admission marker (null: none written).</summary>
    internal sealed record LeaseBatchResult(SettleResult[] Settled, long? MarkerId);

    /// <summary>Error text of a call resolved from an admission marker after it was charged but before its record was stored.</summary>
    internal const string InterruptedAfterChargeError = "interrupted: the gateway stopped after the call was charged, before its record was stored";

    // Lots a lease may be sized from: unscoped (they pay for any call) and valid for the whole horizon.
    private const string LeasableSql = """
        SELECT CAST(COALESCE(SUM(remaining), 0) AS BIGINT) FROM credit_lots
        WHERE account_id = @a AND remaining > 0 AND effective_at <= @now AND (expires_at IS NULL OR expires_at > @horizon)
          AND model_scope IS NULL AND modality_scope IS NULL
        """;

    private const string OwnLeaseSql =
        "SELECT amount FROM credit_leases WHERE account_id = @a AND instance_id = @i AND expires_at > @now";

    /// <summary>
    /// Sets this instance's lease of the account in one transaction: grows it to <paramref name="reserved"/> (what its
    /// calls hold in memory now) plus <paramref name="extra"/>, capped at <paramref name="maxShare"/> of what is free; or,
    /// when what is free is below <paramref name="minFree"/> (or the account is in debt), shrinks it to what is held in
    /// memory and answers <see cref="LeaseState.Exact"/> so calls hold exactly in the database instead.
    /// </summary>
    internal async Task<LeaseState> ResizeLeaseAsync(
        Guid accountId, string instanceId, long reserved, long extra, long minExtra, double maxShare, long minFree, bool returnOnly,
        CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var nowTicks = now.UtcTicks;
        var ttl = _options.LeaseTtl.Ticks;
        // Sized from lots valid for several TTLs; renewals stop at BackedUntil, then the lease is sized anew.
        var horizon = nowTicks + 4 * ttl;
        await using var s = await BeginAsync(cancellationToken);
        var id = s.Id(accountId);
        var totals = await LockAccountAsync(s, accountId, nowTicks);
        if (totals is null) return new LeaseState(0, 0, 0, 0, Exact: true, Known: false);
        var issue = await EnsurePlanLotsAsync(s, accountId, totals, now);
        var own = await s.ScalarAsync(OwnLeaseSql, ("@a", id), ("@i", instanceId), ("@now", nowTicks)) ?? 0;
        var spendable = await SpendableSumAsync(s, accountId, nowTicks);
        var leasable = await s.ScalarAsync(LeasableSql, ("@a", id), ("@now", nowTicks), ("@horizon", horizon)) ?? 0;
        var others = totals.Leased - own;
        var outside = Available(spendable, totals.Held + others, totals.Overage);
        // What this instance could lease: leasable credits minus everything held or leased elsewhere and the debt.
        var free = leasable - totals.Held - others - totals.Overage - reserved;
        long amount;
        bool exact;
        var share = (long)Math.Floor(Math.Max(0, free) * maxShare);
        if (returnOnly || totals.Overage > 0 || free < minFree || share < minExtra)
        {
            // Too little for a lease: keep covering what is held in memory (as far as it is still covered or free), return the rest.
            amount = Math.Max(0, Math.Min(reserved, Math.Max(own, free + reserved)));
            exact = true;
        }
        else
        {
            amount = checked(reserved + Math.Clamp(extra, minExtra, share));
            exact = false;
        }
        var expires = nowTicks + ttl;
        if (amount > 0)
        {
            await s.ExecuteAsync(
                """
                INSERT INTO credit_leases (account_id, instance_id, amount, expires_at, backed_until, recall, updated_at)
                VALUES (@a, @i, @amount, @exp, @backed, @no, @now)
                ON CONFLICT (account_id, instance_id) DO UPDATE
                SET amount = excluded.amount, expires_at = excluded.expires_at, backed_until = excluded.backed_until,
                    recall = excluded.recall, updated_at = excluded.updated_at
                """,
                ("@a", id), ("@i", instanceId), ("@amount", amount), ("@exp", expires), ("@backed", horizon), ("@no", false), ("@now", nowTicks));
        }
        else
        {
            await s.ExecuteAsync("DELETE FROM credit_leases WHERE account_id = @a AND instance_id = @i", ("@a", id), ("@i", instanceId));
        }
        await s.CommitAsync();
        RememberIssued(accountId, issue);
        return new LeaseState(amount, expires, horizon, outside, exact, Known: true);
    }

    /// <summary>
    /// Renews every live lease of the instance in one statement and returns them (account, amount, recall); an expired
    /// lease is not revived (others may already count its credits as free). Admin changes reach instances through this.
    /// In the same transaction the instance's admission markers are renewed, the finished ones (every call recorded)
    /// deleted and the calls admitted since the last batch get their marker (<paramref name="admission"/>; its id is
    /// returned).
    /// </summary>
    internal async Task<(List<(Guid AccountId, long Amount, long ExpiresAtTicks, bool Recall)> Leases, long? MarkerId)> RenewLeasesAsync(
        string instanceId, CancellationToken cancellationToken, AdmissionBatch? admission = null)
    {
        var nowTicks = _time.GetUtcNow().UtcTicks;
        var expires = nowTicks + _options.LeaseTtl.Ticks;
        var leases = new List<(Guid, long, long, bool)>();
        await using var s = await BeginAsync(cancellationToken);
        var locked = await LockLeaseAccountsAsync(s, "instance_id = @i AND expires_at > @now", ("@i", instanceId), ("@now", nowTicks));
        await using (var reader = await s.ReaderAsync(
            $"""
            UPDATE credit_leases SET expires_at = CASE WHEN backed_until < @exp THEN backed_until ELSE @exp END
            WHERE instance_id = @i AND expires_at > @now{LockedOnly(locked)}
            RETURNING account_id, amount, expires_at, recall
            """,
            ("@exp", expires), ("@i", instanceId), ("@now", nowTicks), ("@locked", locked?.ToArray())))
        {
            while (await reader.ReadAsync())
                leases.Add((LedgerSession.ReadGuid(reader, 0), reader.GetInt64(1), reader.GetInt64(2), reader.GetBoolean(3)));
        }
        var markerId = await WriteAdmissionsAsync(s, admission, nowTicks);
        // Marker rows locked in id order (PostgreSQL), as the batches' deletes take them: no deadlock between the two.
        await s.ExecuteAsync(
            s.IsPostgres
                ? "UPDATE lease_admissions SET expires_at = @exp WHERE id IN (SELECT id FROM lease_admissions WHERE instance_id = @i ORDER BY id FOR UPDATE)"
                : "UPDATE lease_admissions SET expires_at = @exp WHERE instance_id = @i",
            ("@exp", expires), ("@i", instanceId));
        await s.CommitAsync();
        return (leases, markerId);
    }

    /// <summary>
    /// In the session's transaction: deletes the markers whose calls are all recorded and inserts one marker row for
    /// the calls admitted since the last batch or renewal; returns its id (null: none written). Markers never cause a
    /// transaction of their own: they ride on the next settlement batch or renewal (see <see cref="CreditLeases"/>).
    /// </summary>
    private async Task<long?> WriteAdmissionsAsync(LedgerSession s, AdmissionBatch? admission, long nowTicks)
    {
        if (admission is null) return null;
        if (admission.Finished.Count > 0) await DeleteMarkersAsync(s, admission.Finished);
        if (admission.AdmittedJson is null) return null;
        return await s.ScalarAsync(
            "INSERT INTO lease_admissions (instance_id, expires_at, records, created_at) VALUES (@i, @exp, @records, @now) RETURNING id",
            ("@i", admission.InstanceId), ("@exp", nowTicks + _options.LeaseTtl.Ticks), ("@records", admission.AdmittedJson), ("@now", nowTicks));
    }

    /// <summary>
    /// PostgreSQL: locks (ORDER BY account_id, one statement) the accounts of the leases <paramref name="leaseFilter"/>
    /// selects, before any lease row is touched (see the lock order above); returns them. Null on SQLite (one writer).
    /// </summary>
    private static async Task<List<Guid>?> LockLeaseAccountsAsync(LedgerSession s, string leaseFilter, params (string Name, object? Value)[] parameters)
    {
        if (!s.IsPostgres) return null;
        var ids = new List<Guid>();
        await using var reader = await s.ReaderAsync(
            $"SELECT account_id FROM ledger_accounts WHERE account_id IN (SELECT account_id FROM credit_leases WHERE {leaseFilter}) ORDER BY account_id FOR UPDATE",
            parameters);
        while (await reader.ReadAsync()) ids.Add(LedgerSession.ReadGuid(reader, 0));
        return ids;
    }

    /// <summary>The condition limiting a lease statement to the accounts locked first (PostgreSQL), as parameter @locked.</summary>
    private static string LockedOnly(List<Guid>? locked) => locked is null ? "" : " AND account_id = ANY(@locked)";

    /// <summary>One statement for a set of ids whatever its size: an array on PostgreSQL, a JSON array on SQLite.</summary>
    private static (string Condition, object Value) IdSet(LedgerSession s, string column, IReadOnlyCollection<long> ids) =>
        s.IsPostgres
            ? ($"{column} = ANY(@ids)", ids.ToArray())
            : ($"{column} IN (SELECT value FROM json_each(@ids))", JsonSerializer.Serialize(ids));

    /// <summary>Deletes admission markers; on PostgreSQL their rows are locked in id order first (as renewals lock them).</summary>
    private static Task DeleteMarkersAsync(LedgerSession s, IReadOnlyCollection<long> ids)
    {
        var (condition, value) = IdSet(s, "id", ids);
        return s.ExecuteAsync(
            s.IsPostgres
                ? $"DELETE FROM lease_admissions WHERE id IN (SELECT id FROM lease_admissions WHERE {condition} ORDER BY id FOR UPDATE)"
                : $"DELETE FROM lease_admissions WHERE {condition}",
            ("@ids", value));
    }

    /// <summary>
    /// Resolves admission markers whose instance is gone: those of <paramref name="instanceId"/> (its restart: its calls
    /// of before are gone), or, without it, every marker not renewed within <c>Ledger:LeaseTtl</c> (the sweep, on any
    /// instance). Each call of a marker that has no record yet is stored as <c>interrupted</c>, nothing charged (or,
    /// when its settlement was written but not its record, with that charge). One transaction per marker, which deletes
    /// it: a marker is resolved once, and the unique request id keeps every call at one record on any number of
    /// instances. Returns the records written.
    /// </summary>
    public async Task<int> ResolveAdmissionsAsync(string? instanceId = null, CancellationToken cancellationToken = default)
    {
        var nowTicks = _time.GetUtcNow().UtcTicks;
        var due = new List<long>();
        await using (var s = await BeginAsync(cancellationToken))
        await using (var reader = await s.ReaderAsync(
            instanceId is null
                ? $"SELECT id FROM lease_admissions WHERE expires_at <= @now ORDER BY id LIMIT {SweepBatch}"
                : $"SELECT id FROM lease_admissions WHERE instance_id = @i ORDER BY id LIMIT {SweepBatch}",
            ("@now", nowTicks), ("@i", instanceId)))
        {
            while (await reader.ReadAsync()) due.Add(reader.GetInt64(0));
        }
        var written = 0;
        foreach (var id in due)
        {
            await using var s = await BeginAsync(cancellationToken);
            string? json;
            // Claimed by deleting it (the owner may have renewed it meanwhile: then it is not due any more).
            await using (var reader = await s.ReaderAsync(
                instanceId is null
                    ? "DELETE FROM lease_admissions WHERE id = @id AND expires_at <= @now RETURNING records"
                    : "DELETE FROM lease_admissions WHERE id = @id RETURNING records",
                ("@id", id), ("@now", nowTicks)))
            {
                json = await reader.ReadAsync() ? reader.GetString(0) : null;
            }
            if (json is null) continue;
            List<CallRecord>? records;
            try
            {
                records = JsonSerializer.Deserialize(json, CallRecordJson.Default.ListCallRecord);
            }
            catch (JsonException)
            {
                records = null; // never keep a marker that cannot be read
            }
            if (records is { Count: > 0 }) written += await StoreInterruptedAsync(s, records);
            await s.CommitAsync();
        }
        return written;
    }

    /// <summary>
    /// Stores the interrupted records of calls this instance admitted before it stopped, read back from its local
    /// admission log at restart (see <see cref="AdmissionLog"/>): as <see cref="ResolveAdmissionsAsync"/> does for a
    /// marker, one transaction per chunk, a record only for a call without one. Returns the records written.
    /// </summary>
    internal async Task<int> RecordInterruptedAsync(IReadOnlyList<CallRecord> records, CancellationToken cancellationToken = default)
    {
        var written = 0;
        foreach (var chunk in records.Chunk(SweepBatch))
        {
            await using var s = await BeginAsync(cancellationToken);
            written += await StoreInterruptedAsync(s, chunk);
            await s.CommitAsync();
        }
        return written;
    }

    /// <summary>
    /// Inserts the interrupted record of each call that has none (the unique request id decides); a call whose charge
    /// was written but not its record gets a record showing that charge.
    /// </summary>
    private static async Task<int> StoreInterruptedAsync(LedgerSession s, IReadOnlyList<CallRecord> records)
    {
        var charges = new Dictionary<string, (long Amount, long Overage)>();
        object ids = s.IsPostgres ? records.Select(r => r.RequestId).ToArray() : JsonSerializer.Serialize(records.Select(r => r.RequestId));
        await using (var reader = await s.ReaderAsync(
            $"SELECT request_id, amount, overage FROM credit_charges WHERE request_id {(s.IsPostgres ? "= ANY(@ids)" : "IN (SELECT value FROM json_each(@ids))")}",
            ("@ids", ids)))
        {
            while (await reader.ReadAsync()) charges[reader.GetString(0)] = (reader.GetInt64(1), reader.GetInt64(2));
        }
        var written = 0;
        foreach (var record in records)
        {
            if (charges.TryGetValue(record.RequestId, out var charge))
            {
                record.ChargedMicro = charge.Amount;
                record.OverageMicro = charge.Overage;
                record.Error = InterruptedAfterChargeError;
            }
            written += await s.ExecuteAsync(InsertCallRecordSql + " ON CONFLICT (request_id) DO NOTHING", CallRecordParameters(s, record));
        }
        return written;
    }

    /// <summary>Returns every lease of the instance at once (start-up after a crash, or shutdown): its calls in flight are gone.</summary>
    internal async Task<int> ReturnLeasesAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        await using var s = await BeginAsync(cancellationToken);
        var locked = await LockLeaseAccountsAsync(s, "instance_id = @i", ("@i", instanceId));
        var count = await s.ExecuteAsync($"DELETE FROM credit_leases WHERE instance_id = @i{LockedOnly(locked)}", ("@i", instanceId), ("@locked", locked?.ToArray()));
        await s.CommitAsync();
        return count;
    }

    /// <summary>Deletes leases that expired (their credits already stopped counting at expiry); returns how many.</summary>
    public async Task<int> SweepExpiredLeasesAsync(CancellationToken cancellationToken = default)
    {
        var nowTicks = _time.GetUtcNow().UtcTicks;
        await using var s = await BeginAsync(cancellationToken);
        var locked = await LockLeaseAccountsAsync(s, "expires_at <= @now", ("@now", nowTicks));
        var count = await s.ExecuteAsync($"DELETE FROM credit_leases WHERE expires_at <= @now{LockedOnly(locked)}", ("@now", nowTicks), ("@locked", locked?.ToArray()));
        await s.CommitAsync();
        return count;
    }

    /// <summary>
    /// Asks the instances holding a lease of the account (but <paramref name="exceptInstance"/>) to return its unused part
    /// at their next refresh: an exact hold was refused, or an admin change took credits away.
    /// </summary>
    private static Task RecallLeasesAsync(LedgerSession s, Guid accountId, long nowTicks, string? exceptInstance) =>
        s.ExecuteAsync("UPDATE credit_leases SET recall = @yes WHERE account_id = @a AND expires_at > @now AND amount > 0 AND instance_id <> @i",
            ("@yes", true), ("@a", s.Id(accountId)), ("@now", nowTicks), ("@i", exceptInstance ?? ""));

    /// <summary>
    /// One leased call's charge from a batch's lots, in burn-down order, skipping lots its scope may not use: lowers
    /// <paramref name="remaining"/> (what later calls of the batch find) and adds to <paramref name="debited"/> (the one
    /// update per lot the batch writes); what no lot covers is the overage. Shared by both ways of writing a batch
    /// (statement per row, PostgreSQL round trips) so they charge alike.
    /// </summary>
    private static (List<LotAllocation> Allocations, long Overage) AllocateInBatch(
        List<SpendableLot> lots, Dictionary<long, long> remaining, Dictionary<long, long> debited, long need, CallScope? scope)
    {
        var allocations = new List<LotAllocation>();
        foreach (var lot in lots)
        {
            if (need == 0) break;
            var left = remaining[lot.Id];
            if (left == 0 || !LotScope.Applies(lot.ModelScope, lot.ModalityScope, scope)) continue;
            var take = Math.Min(left, need);
            remaining[lot.Id] = left - take;
            debited[lot.Id] = debited.GetValueOrDefault(lot.Id) + take;
            allocations.Add(new LotAllocation(lot.Id, new Credits(take)));
            need -= take;
        }
        return (allocations, need);
    }

    /// <summary>
    /// Writes the settlements of leased calls in one transaction: per call its settled hold row (request id unique:
    /// settled once), charge, lot allocations and activity entry; per account one update of each debited lot, the
    /// debt and the instance's lease (reduced by what its calls were charged). Burn-down order, scopes and overage as
    /// in <see cref="SettleAsync"/>: the charge is made whatever it is (the call was delivered). Below: the charges
    /// computed in memory per account; SQLite writes each account's rows set-based (<see cref="WriteSettledRowsAsync"/>)
    /// unless a request id repeats or was settled before, then a statement per row (the definition, which answers those);
    /// PostgreSQL writes the same rows in two or three round trips (<see cref="SettleLeasedBatchInRoundTripsAsync"/>) unless the
    /// batch repeats a request id.
    /// </summary>
    /// <remarks><paramref name="corrections"/> replace the records stored for their request ids (a call whose record went
    /// with its settlement and whose outcome changed after it, e.g. the client left before the end was written).</remarks>
    internal async Task<LeaseBatchResult> SettleLeasedBatchAsync(
        IReadOnlyList<LeasedSettlement> items, IReadOnlyList<CallRecord> records, AdmissionBatch? admission = null,
        IReadOnlyList<CallRecord>? corrections = null)
    {
        var results = new SettleResult[items.Count];
        var nowTicks = _time.GetUtcNow().UtcTicks;
        if (!IsSqlite && LateLockApplies(items, corrections))
        {
            // PostgreSQL, first with the late lock: the reads take no row lock and the accounts are locked with the writes,
            // so no lock is held while this instance computes the charges between its two round trips (two gateways on a
            // busy core each waited for the other's batch that long: bench/README, "the late lock"). Read again under the
            // locks below when the reads changed before the locks or cannot decide alone.
            await using var first = await BeginAsync(CancellationToken.None);
            if (await SettleLeasedBatchInRoundTripsAsync(first, items, records, admission, nowTicks, corrections, lateLock: true) is { } late) return late;
        }
        await using var s = await BeginAsync(CancellationToken.None);
        // PostgreSQL: the same rows in two or three round trips (see CreditLedger.LeaseBatches.cs).
        if (s.IsPostgres && await SettleLeasedBatchInRoundTripsAsync(s, items, records, admission, nowTicks, corrections) is { } batched) return batched;
        var groups = items.Select((item, index) => (item, index)).GroupBy(x => x.item.AccountId).OrderBy(g => g.Key).ToList();
        if (s.IsPostgres && groups.Count > 1)
        {
            // Every account of the batch locked first, in one statement in the database's order (see the lock order above).
            await using var reader = await s.ReaderAsync(
                "SELECT account_id FROM ledger_accounts WHERE account_id = ANY(@ids) ORDER BY account_id FOR UPDATE",
                ("@ids", groups.Select(g => g.Key).ToArray()));
            while (await reader.ReadAsync()) { }
        }
        foreach (var group in groups)
        {
            var accountId = group.Key;
            var id = s.Id(accountId);
            var totals = await LockAccountAsync(s, accountId, nowTicks);
            if (totals is null)
            {
                foreach (var (_, index) in group) results[index] = SettleResult.Nothing(SettleStatus.UnknownAccount, Credits.Zero);
                continue;
            }
            var lots = new List<SpendableLot>();
            long lotsTotal;
            await using (var reader = await s.ReaderAsync(
                """
                SELECT id, kind, remaining, effective_at, expires_at, model_scope, modality_scope FROM credit_lots
                WHERE account_id = @a AND remaining > 0 AND effective_at <= @now AND (expires_at IS NULL OR expires_at > @now)
                """,
                ("@a", id), ("@now", nowTicks)))
            {
                lotsTotal = await ReadSpendableLotsAsync(reader, lots, scope: null);
            }
            long chargedTotal = 0;
            string? lastRequest = null;
            lots.Sort(_burnDownOrder);
            var remaining = lots.ToDictionary(l => l.Id, l => l.Remaining);
            // Activity entries and results show what the account has after the charge as the settling instance sees
            // it: its own lease is credits its calls may still use (exact with one instance).
            var writer = group.Select(g => g.item.InstanceId).FirstOrDefault(i => i is not null);
            var ownLease = writer is null ? 0 : await s.ScalarAsync(OwnLeaseSql, ("@a", id), ("@i", writer), ("@now", nowTicks)) ?? 0;
            var blocked = totals.Blocked - ownLease;
            var debited = new Dictionary<long, long>();
            var leaseCharged = new Dictionary<string, long>();
            long overageAdded = 0;
            // SQLite: the rows of the group's calls written set-based after the loop (CreditLedger.SettledRows.cs), unless a
            // request id repeats or was settled before: then statement per row, which answers those.
            var next = s.IsPostgres || !SqliteSetBasedSettlements ? null : await NextSettlementIdsAsync(s, group.Select(g => g.item.RequestId).ToList());
            var rows = next is null ? null : new List<SettledRow>();
            var (nextHold, nextCharge) = next ?? (0, 0);
            foreach (var (item, index) in group)
            {
                long? holdId = rows is not null ? nextHold++ : await s.ScalarAsync(
                    """
                    INSERT INTO credit_holds (account_id, request_id, amount, status, created_at, expires_at, resolved_at)
                    VALUES (@a, @r, @amount, 'settled', @now, @now, @now)
                    ON CONFLICT (request_id) DO NOTHING RETURNING id
                    """,
                    ("@a", id), ("@r", item.RequestId), ("@amount", item.Held), ("@now", nowTicks));
                if (holdId is null)
                {
                    // Settled before (e.g. by a journal replay): charged once, so report that charge.
                    var hold = (await FindHoldAsync(s, item.RequestId))!;
                    results[index] = hold.Status == HoldStatuses.Settled
                        ? await RepeatSettleAsync(s, hold, totals, nowTicks)
                        : SettleResult.Nothing(SettleStatus.RequestIdConflict, Credits.Zero);
                    continue;
                }
                chargedTotal += item.Actual;
                lastRequest = item.RequestId;
                var (allocations, overage) = AllocateInBatch(lots, remaining, debited, item.Actual, item.Scope);
                overageAdded += overage;
                if (item.InstanceId is { } instance) leaseCharged[instance] = leaseCharged.GetValueOrDefault(instance) + item.LeaseDecrement;
                var after = Available(remaining.Values.Sum(), blocked, totals.Overage + overageAdded);
                if (rows is not null)
                {
                    var newCharge = nextCharge++;
                    rows.Add(new SettledRow(holdId.Value, newCharge, item.RequestId, item.Held, item.Actual, overage, allocations, after));
                    results[index] = new SettleResult(SettleStatus.Settled, new Credits(item.Actual), new Credits(overage), allocations,
                        new Credits(after), Repeated: false, newCharge);
                    continue;
                }
                var sql = new System.Text.StringBuilder("""
                    INSERT INTO credit_charges (account_id, request_id, hold_id, amount, overage, created_at)
                    VALUES (@a, @r, @h, @amount, @overage, @now) RETURNING id;
                    """);
                const string ChargeId = "(SELECT id FROM credit_charges WHERE request_id = @r)";
                var parameters = new List<(string, object?)>
                {
                    ("@a", id), ("@r", item.RequestId), ("@h", holdId.Value), ("@amount", item.Actual), ("@overage", overage), ("@now", nowTicks),
                };
                for (var i = 0; i < allocations.Count; i++)
                {
                    sql.Append($"INSERT INTO charge_allocations (charge_id, lot_id, amount) VALUES ({ChargeId}, @l{i}, @x{i});\n");
                    parameters.Add(($"@x{i}", allocations[i].Amount.Micro));
                    parameters.Add(($"@l{i}", allocations[i].LotId));
                }
                if (overage > 0) sql.Append($"INSERT INTO charge_allocations (charge_id, lot_id, amount) VALUES ({ChargeId}, NULL, @overage);\n");
                sql.Append($"""
                    UPDATE credit_holds SET charge_id = {ChargeId} WHERE id = @h;
                    INSERT INTO ledger_entries (account_id, at, type, amount, available_after, hold_id, charge_id, request_id, note)
                    VALUES (@a, @now, 'settle', @amount, @after, @h, {ChargeId}, @r, 'leased')
                    """);
                parameters.Add(("@after", after));
                var chargeId = (await s.BatchAsync(sql.ToString(), [.. parameters]))!.Value;
                results[index] = new SettleResult(SettleStatus.Settled, new Credits(item.Actual), new Credits(overage), allocations,
                    new Credits(after), Repeated: false, chargeId);
            }
            if (rows is { Count: > 0 }) await WriteSettledRowsAsync(s, id, nowTicks, rows);
            // Aggregated per batch: one update per debited lot, the debt and each lease.
            foreach (var (lotId, amount) in debited)
            {
                await s.ExecuteAsync("UPDATE credit_lots SET remaining = remaining - @x, consumed = consumed + @x WHERE id = @l", ("@x", amount), ("@l", lotId));
            }
            if (overageAdded > 0)
            {
                await s.ExecuteAsync("UPDATE ledger_accounts SET overage = overage + @o, updated_at = @now WHERE account_id = @a",
                    ("@o", overageAdded), ("@now", nowTicks), ("@a", id));
            }
            foreach (var (instance, charged) in leaseCharged)
            {
                await s.ExecuteAsync(
                    $"UPDATE credit_leases SET amount = {(s.IsPostgres ? "GREATEST" : "MAX")}(0, amount - @c), updated_at = @now WHERE account_id = @a AND instance_id = @i",
                    ("@c", charged), ("@now", nowTicks), ("@a", id), ("@i", instance));
            }
            if (_notify is not null && lastRequest is not null)
            {
                // The account's balance before and after this batch's charges, as an exact settlement sees it for one call.
                var before = lotsTotal - totals.Overage;
                await _notify.OnSettledAsync(s, accountId, await Notifications.NotificationOutbox.ReadLowBalanceAsync(s, accountId),
                    before, before - chargedTotal, lastRequest, nowTicks);
            }
        }
        // Rows of no account last: markers (deleted before records are inserted, as the sweep resolving a marker does), then records.
        var markerId = await WriteAdmissionsAsync(s, admission, nowTicks);
        // The records in one go (several per statement); the settled ones show what this very transaction charged (a
        // repeated settlement: the charge made before).
        await InsertBatchRecordsAsync(s, WithSettledRecords(items, results, records));
        if (corrections is not null) foreach (var correction in corrections) await ReplaceCallRecordAsync(s, correction);
        await s.CommitAsync();
        return new LeaseBatchResult(results, markerId);
    }
}
