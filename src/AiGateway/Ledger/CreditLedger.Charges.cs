using AiGateway.Pricing;
using AiGateway.Storage;

namespace AiGateway.Ledger;

// Debiting lots for a charge, and reading back a charge that was already made.
public sealed partial class CreditLedger
{
    /// <summary>Debits the lots (those that may pay for <paramref name="scope"/>) in burn-down order, books the shortfall as overage and resolves the hold.</summary>
    /// <remarks>
    /// A <paramref name="record"/> (the call's, whose request id has none stored) is inserted in the same batch of
    /// statements, showing this charge.
    /// </remarks>
    private async Task<SettleResult> ChargeLotsAsync(
        LedgerSession s, HoldRow hold, AccountTotals totals, long actual, long nowTicks, bool wasActive, CallScope? scope,
        SettleContext? read = null, CallRecord? record = null, bool last = false)
    {
        var accountId = s.Id(hold.AccountId);
        if (read is null)
        {
            var found = new List<SpendableLot>();
            long total;
            await using (var reader = await s.ReaderAsync(
                """
                SELECT id, kind, remaining, effective_at, expires_at, model_scope, modality_scope FROM credit_lots
                WHERE account_id = @a AND remaining > 0 AND effective_at <= @now AND (expires_at IS NULL OR expires_at > @now)
                """,
                ("@a", accountId), ("@now", nowTicks)))
            {
                total = await ReadSpendableLotsAsync(reader, found, scope);
            }
            var low = _notify is null ? null : await Notifications.NotificationOutbox.ReadLowBalanceAsync(s, hold.AccountId);
            read = new SettleContext(found, total, low);
        }
        var lots = read.Lots;
        // The account's balance (all spendable lots minus debt) before and after: what the low-balance threshold is about.
        var balanceBefore = read.LotsTotal - totals.Overage;
        var balanceAfter = balanceBefore - actual;
        lots.Sort(_burnDownOrder);

        long spendable = 0;
        foreach (var lot in lots) spendable += lot.Remaining;
        var need = actual;
        var allocations = new List<LotAllocation>();
        foreach (var lot in lots)
        {
            if (need == 0) break;
            var take = Math.Min(lot.Remaining, need);
            allocations.Add(new LotAllocation(lot.Id, new Credits(take)));
            need -= take;
        }
        var overage = need;
        if (wasActive) totals.Held -= hold.Amount;
        totals.Overage += overage;
        var available = Available(spendable - (actual - overage), totals.Blocked, totals.Overage);
        var note = wasActive ? null : hold.Status == HoldStatuses.Expired ? "settled after hold expiry" : "one-step charge";

        // Everything in one round trip; the SQL text only varies with the number of lots debited (and so stays cached).
        var sql = new System.Text.StringBuilder("""
            INSERT INTO credit_charges (account_id, request_id, hold_id, amount, overage, created_at)
            VALUES (@a, @r, @h, @amount, @overage, @now) RETURNING id;
            """);
        const string ChargeId = "(SELECT id FROM credit_charges WHERE request_id = @r)";
        var parameters = new List<(string, object?)>
        {
            ("@a", accountId), ("@r", hold.RequestId), ("@h", hold.Id), ("@amount", actual), ("@overage", overage), ("@now", nowTicks),
            ("@held", totals.Held), ("@debt", totals.Overage), ("@after", available), ("@note", note),
        };
        for (var i = 0; i < allocations.Count; i++)
        {
            sql.Append($"UPDATE credit_lots SET remaining = remaining - @x{i}, consumed = consumed + @x{i} WHERE id = @l{i};\n");
            sql.Append($"INSERT INTO charge_allocations (charge_id, lot_id, amount) VALUES ({ChargeId}, @l{i}, @x{i});\n");
            parameters.Add(($"@x{i}", allocations[i].Amount.Micro));
            parameters.Add(($"@l{i}", allocations[i].LotId));
        }
        // The debt part is an allocation without a lot, so a charge's allocations always sum to the charge.
        if (overage > 0) sql.Append($"INSERT INTO charge_allocations (charge_id, lot_id, amount) VALUES ({ChargeId}, NULL, @overage);\n");
        sql.Append($"""
            UPDATE ledger_accounts SET held = @held, overage = @debt, updated_at = @now WHERE account_id = @a;
            UPDATE credit_holds SET status = 'settled', resolved_at = @now, charge_id = {ChargeId} WHERE id = @h;
            DELETE FROM credit_hold_records WHERE hold_id = @h;
            INSERT INTO ledger_entries (account_id, at, type, amount, available_after, hold_id, charge_id, request_id, note)
            VALUES (@a, @now, 'settle', @amount, @after, @h, {ChargeId}, @r, @note)
            """);
        if (record is not null)
        {
            record.ChargedMicro = actual;
            record.OverageMicro = overage;
            sql.Append(";\n").Append(InsertCallRecordSql).Append(" ON CONFLICT (request_id) DO NOTHING");
            parameters.AddRange(CallRecordParameters(s, record));
        }
        // Last (the caller writes nothing after it) and no notification to write: on PostgreSQL the COMMIT rides in this batch.
        if (last && (_notify is null || !_notify.WritesOnSettled(read.Low, balanceAfter))) s.CommitWithNextBatch();
        var chargeId = (await s.BatchAsync(sql.ToString(), [.. parameters]))!.Value;
        if (_notify is not null) await _notify.OnSettledAsync(s, hold.AccountId, read.Low, balanceBefore, balanceAfter, hold.RequestId, nowTicks);
        return new SettleResult(SettleStatus.Settled, new Credits(actual), new Credits(overage), allocations,
            new Credits(available), Repeated: false, chargeId);
    }

    /// <summary>Rebuilds the first settle's result from the stored charge and its allocations.</summary>
    private static async Task<SettleResult> RepeatSettleAsync(LedgerSession s, HoldRow hold, AccountTotals totals, long nowTicks)
    {
        long charged = 0, overage = 0;
        await using (var reader = await s.ReaderAsync("SELECT amount, overage FROM credit_charges WHERE id = @c", ("@c", hold.ChargeId)))
        {
            if (await reader.ReadAsync())
            {
                charged = reader.GetInt64(0);
                overage = reader.GetInt64(1);
            }
        }
        var allocations = new List<LotAllocation>();
        await using (var reader = await s.ReaderAsync(
            "SELECT lot_id, amount FROM charge_allocations WHERE charge_id = @c AND lot_id IS NOT NULL ORDER BY id", ("@c", hold.ChargeId)))
        {
            while (await reader.ReadAsync()) allocations.Add(new LotAllocation(reader.GetInt64(0), new Credits(reader.GetInt64(1))));
        }
        var available = await AvailableAsync(s, hold.AccountId, totals, nowTicks);
        return new SettleResult(SettleStatus.Settled, new Credits(charged), new Credits(overage), allocations,
            new Credits(available), Repeated: true, hold.ChargeId);
    }

    /// <summary>
    /// Moves an active hold to a final status without a charge (released, expired), takes it off the account's held total
    /// and writes its activity entry; returns what is available after. Neither changes a lot, so that is read first; then
    /// the hold, its interrupted-record row, the held total and the entry go in one batch — on PostgreSQL with the COMMIT
    /// when the caller writes nothing after it (<paramref name="last"/>). A caller that read the spendable lots' sum with
    /// its lock passes it (<paramref name="spendable"/>) instead of a read of its own.
    /// </summary>
    private static async Task<long> ResolveHoldAsync(
        LedgerSession s, HoldRow hold, AccountTotals totals, string status, string entryType, string? note, long nowTicks, bool last,
        long? spendable = null)
    {
        totals.Held -= hold.Amount;
        var available = spendable is { } sum ? Available(sum, totals.Blocked, totals.Overage) : await AvailableAsync(s, hold.AccountId, totals, nowTicks);
        if (last) s.CommitWithNextBatch();
        await s.BatchAsync(
            """
            UPDATE credit_holds SET status = @st, resolved_at = @now, charge_id = NULL WHERE id = @id;
            DELETE FROM credit_hold_records WHERE hold_id = @id;
            UPDATE ledger_accounts SET held = @held, updated_at = @now WHERE account_id = @a;
            INSERT INTO ledger_entries (account_id, at, type, amount, available_after, hold_id, request_id, note)
            VALUES (@a, @now, @type, @amount, @after, @id, @r, @note)
            """,
            ("@st", status), ("@now", nowTicks), ("@id", hold.Id), ("@held", totals.Held), ("@a", s.Id(hold.AccountId)),
            ("@type", entryType), ("@amount", hold.Amount), ("@after", available), ("@r", hold.RequestId), ("@note", note));
        return available;
    }
}
