using AiGateway.Pricing;
using AiGateway.Storage;

namespace AiGateway.Ledger;

// Credit leases (see CreditLeases for the in-memory side): taking, resizing, renewing and returning an instance's
// lease, and writing the settlements of leased calls in batches. Each is one transaction under the account lock.
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

    /// <summary>One leased call to settle in a batch; <paramref name="LeaseDecrement"/> is what its charge takes off the instance's lease.</summary>
    internal sealed record LeasedSettlement(Guid AccountId, string RequestId, long Held, long Actual, CallScope? Scope, string? InstanceId, long LeaseDecrement);

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
    /// </summary>
    internal async Task<List<(Guid AccountId, long Amount, long ExpiresAtTicks, bool Recall)>> RenewLeasesAsync(
        string instanceId, CancellationToken cancellationToken)
    {
        var nowTicks = _time.GetUtcNow().UtcTicks;
        var leases = new List<(Guid, long, long, bool)>();
        await using var s = await BeginAsync(cancellationToken);
        await using (var reader = await s.ReaderAsync(
            """
            UPDATE credit_leases SET expires_at = CASE WHEN backed_until < @exp THEN backed_until ELSE @exp END
            WHERE instance_id = @i AND expires_at > @now
            RETURNING account_id, amount, expires_at, recall
            """,
            ("@exp", nowTicks + _options.LeaseTtl.Ticks), ("@i", instanceId), ("@now", nowTicks)))
        {
            while (await reader.ReadAsync())
                leases.Add((LedgerSession.ReadGuid(reader, 0), reader.GetInt64(1), reader.GetInt64(2), reader.GetBoolean(3)));
        }
        await s.CommitAsync();
        return leases;
    }

    /// <summary>Returns every lease of the instance at once (start-up after a crash, or shutdown): its calls in flight are gone.</summary>
    internal async Task<int> ReturnLeasesAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        await using var s = await BeginAsync(cancellationToken);
        var count = await s.ExecuteAsync("DELETE FROM credit_leases WHERE instance_id = @i", ("@i", instanceId));
        await s.CommitAsync();
        return count;
    }

    /// <summary>Deletes leases that expired (their credits already stopped counting at expiry); returns how many.</summary>
    public async Task<int> SweepExpiredLeasesAsync(CancellationToken cancellationToken = default)
    {
        var nowTicks = _time.GetUtcNow().UtcTicks;
        await using var s = await BeginAsync(cancellationToken);
        var count = await s.ExecuteAsync("DELETE FROM credit_leases WHERE expires_at <= @now", ("@now", nowTicks));
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
    /// Writes the settlements of leased calls in one transaction: per call its settled hold row (request id unique:
    /// settled once), charge, lot allocations and activity entry; per account one update of each debited lot, the
    /// debt and the instance's lease (reduced by what its calls were charged). Burn-down order, scopes and overage as
    /// in <see cref="SettleAsync"/>: the charge is made whatever it is (the call was delivered).
    /// </summary>
    internal async Task<SettleResult[]> SettleLeasedBatchAsync(IReadOnlyList<LeasedSettlement> items, IReadOnlyList<CallRecord> records)
    {
        var results = new SettleResult[items.Count];
        var nowTicks = _time.GetUtcNow().UtcTicks;
        await using var s = await BeginAsync(CancellationToken.None);
        // Accounts in a fixed order, so two instances' batches lock them in the same order (no deadlock on PostgreSQL).
        foreach (var group in items.Select((item, index) => (item, index)).GroupBy(x => x.item.AccountId).OrderBy(g => g.Key))
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
            foreach (var (item, index) in group)
            {
                var holdId = await s.ScalarAsync(
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
                var need = item.Actual;
                var allocations = new List<LotAllocation>();
                foreach (var lot in lots)
                {
                    if (need == 0) break;
                    var left = remaining[lot.Id];
                    if (left == 0 || !LotScope.Applies(lot.ModelScope, lot.ModalityScope, item.Scope)) continue;
                    var take = Math.Min(left, need);
                    remaining[lot.Id] = left - take;
                    debited[lot.Id] = debited.GetValueOrDefault(lot.Id) + take;
                    allocations.Add(new LotAllocation(lot.Id, new Credits(take)));
                    need -= take;
                }
                var overage = need;
                overageAdded += overage;
                if (item.InstanceId is { } instance) leaseCharged[instance] = leaseCharged.GetValueOrDefault(instance) + item.LeaseDecrement;
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
                parameters.Add(("@after", Available(remaining.Values.Sum(), blocked, totals.Overage + overageAdded)));
                var chargeId = (await s.BatchAsync(sql.ToString(), [.. parameters]))!.Value;
                results[index] = new SettleResult(SettleStatus.Settled, new Credits(item.Actual), new Credits(overage), allocations,
                    new Credits(Available(remaining.Values.Sum(), blocked, totals.Overage + overageAdded)), Repeated: false, chargeId);
            }
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
        foreach (var record in records) await InsertCallRecordAsync(s, record);
        await s.CommitAsync();
        return results;
    }
}
