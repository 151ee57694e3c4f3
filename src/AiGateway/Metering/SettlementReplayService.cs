using AiGateway.Ledger;
using AiGateway.Pricing;
using Microsoft.Extensions.Options;

namespace AiGateway.Metering;

/// <summary>Applies the <see cref="SettlementJournal"/> at start-up and then every few seconds, once the database answers.</summary>
public sealed class SettlementReplayService(
    SettlementJournal journal,
    IServiceScopeFactory scopes,
    CallRecorder recorder,
    IOptions<MeteringOptions> options,
    ILogger<SettlementReplayService> logger) : BackgroundService
{
    /// <summary>Replays every journaled entry it can; returns how many were applied.</summary>
    public async Task<int> ReplayOnceAsync()
    {
        var entries = await journal.ReadAllAsync();
        if (entries.Count == 0) return 0;
        var applied = new List<SettlementJournal.Entry>();
        var settled = new Dictionary<string, SettleResult>();
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var ledger = scope.ServiceProvider.GetRequiredService<CreditLedger>();
            // A call's journaled record, by request id: it rides with its call's settlement (one transaction, showing the
            // charge), as it would have had the database answered. What is left here is stored after the settlements.
            // (Applying an entry removes every entry of its kind and request id from the journal, repeats included.)
            var records = entries.Where(e => e.Kind == SettlementJournal.Entry.RecordKind && e.Record is not null)
                .GroupBy(e => e.RequestId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
            // Settlements first, so the records written after them carry the final charge.
            foreach (var entry in entries.Where(e => e.Kind == SettlementJournal.Entry.Settle))
            {
                var cost = new Credits(entry.CostMicro);
                var withRecord = (entry.Held || entry.Leased) && records.TryGetValue(entry.RequestId, out var recordEntry) ? recordEntry : null;
                var recordStored = false;
                if (entry.Leased)
                {
                    settled[entry.RequestId] = await scope.ServiceProvider.GetRequiredService<CreditLeases>()
                        .ReplayAsync(entry.AccountId, entry.RequestId, cost, withRecord?.Record);
                    recordStored = withRecord is not null;
                }
                else if (entry.Held)
                {
                    (settled[entry.RequestId], recordStored) =
                        await CallSettler.SettleOrChargeAsync(ledger, entry.RequestId, entry.AccountId, cost, logger, scope: null, withRecord?.Record);
                }
                else
                {
                    settled[entry.RequestId] = await ledger.ChargeAsync(entry.AccountId, cost, entry.RequestId, CancellationToken.None);
                }
                applied.Add(entry);
                if (recordStored)
                {
                    applied.Add(withRecord!);
                    records.Remove(entry.RequestId);
                }
            }
            foreach (var entry in records.Values)
            {
                var record = entry.Record!;
                if (settled.TryGetValue(entry.RequestId, out var result))
                {
                    record.ChargedMicro = result.Charged.Micro;
                    record.OverageMicro = result.Overage.Micro;
                }
                await recorder.InsertAsync(record);
                applied.Add(entry);
            }
            // Corrections last: each replaces the record its call stored with its charge (same row).
            foreach (var entry in entries.Where(e => e.Kind == SettlementJournal.Entry.CorrectKind && e.Record is not null))
            {
                await recorder.ReplaceAsync(entry.Record!);
                applied.Add(entry);
            }
        }
        catch (Exception ex) when (DatabaseFailure.Is(ex))
        {
            MeteringLog.JournalStillWaiting(logger, entries.Count - applied.Count);
        }
        finally
        {
            await journal.RemoveAsync(applied);
        }
        if (applied.Count > 0) MeteringLog.JournalApplied(logger, applied.Count);
        return applied.Count;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ReplayOnceAsync();
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                MeteringLog.JournalReplayFailed(logger, ex);
            }
            try
            {
                await Task.Delay(options.Value.JournalReplayInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
