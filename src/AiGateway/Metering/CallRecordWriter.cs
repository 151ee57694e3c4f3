using System.Threading.Channels;
using AiGateway.Ledger;
using AiGateway.Storage;
using Microsoft.EntityFrameworkCore;

namespace AiGateway.Metering;

/// <summary>
/// Writes call records in batches (group commit): every caller still waits until its own record is stored, but the
/// records of concurrent calls share one transaction, so under load a record costs a fraction of a write transaction
/// instead of a whole one (on SQLite, with one writer at a time, that was the metered path's largest cost).
/// </summary>
public sealed class CallRecordWriter(
    DatabaseWriter writer, CreditLedger ledger, CreditLeases leases, ILogger<CallRecordWriter> logger)
    : BackgroundService
{
    private const int MaxBatch = 256;
    private readonly Channel<(CallRecord Record, TaskCompletionSource Done)> _queue =
        Channel.CreateBounded<(CallRecord, TaskCompletionSource)>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.Wait });
    private volatile bool _stopping;

    /// <summary>Stores a record (in the next batch) and returns once it is committed; throws when it could not be stored.</summary>
    public async Task WriteAsync(CallRecord record)
    {
        if (leases.Active)
        {
            // With leases, records share the settlement batches' transactions (one writer, one commit for both).
            await leases.WriteRecordAsync(record);
            return;
        }
        if (_stopping)
        {
            await InsertCheckedAsync(record);
            return;
        }
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await _queue.Writer.WriteAsync((record, done));
        await done.Task;
    }

    /// <summary>
    /// Replaces the record stored with a call's charge (same row) by how the call ended; returns once committed. With
    /// leases, in the next settlement batch; without, in a transaction of its own (rare: only when the outcome changed).
    /// </summary>
    public Task ReplaceAsync(CallRecord record) => leases.Active ? leases.ReplaceRecordAsync(record) : ledger.CorrectCallRecordAsync(record);

    /// <summary>
    /// Inserts one record unless one with its request id exists (journal replays are idempotent). An <c>interrupted</c>
    /// record the sweep wrote for a call whose hold expired first is replaced: the call did end, and this is its outcome.
    /// </summary>
    public Task InsertCheckedAsync(CallRecord record) => writer.WriteAsync(async db =>
    {
        var existing = await db.CallRecords.FirstOrDefaultAsync(r => r.RequestId == record.RequestId);
        if (existing is not null && existing.UsageSource != CallSettler.Sources.Interrupted) return;
        if (existing is not null) db.CallRecords.Remove(existing);
        record.Id = 0;
        db.CallRecords.Add(record);
        await db.SaveChangesAsync(CancellationToken.None);
    });

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<(CallRecord Record, TaskCompletionSource Done)>(MaxBatch);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                await DrainAsync(batch);
            }
        }
        catch (OperationCanceledException)
        {
        }
        // Shutting down: later records are written one by one; store what is queued now.
        _stopping = true;
        await DrainAsync(batch);
    }

    private async Task DrainAsync(List<(CallRecord Record, TaskCompletionSource Done)> batch)
    {
        while (_queue.Reader.TryRead(out var first))
        {
            batch.Add(first);
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var item)) batch.Add(item);
            await WriteBatchAsync(batch);
            batch.Clear();
        }
    }

    private async Task WriteBatchAsync(List<(CallRecord Record, TaskCompletionSource Done)> batch)
    {
        try
        {
            await ledger.InsertCallRecordsAsync(batch.Select(b => b.Record).ToList());
            foreach (var (_, done) in batch) done.TrySetResult();
        }
        catch (Exception ex)
        {
            // One bad record (or a database hiccup) must not sink the others: retry them one by one.
            MeteringLog.CallRecordBatchFailed(logger, ex, batch.Count);
            foreach (var (record, done) in batch)
            {
                try
                {
                    await InsertCheckedAsync(record);
                    done.TrySetResult();
                }
                catch (Exception one)
                {
                    done.TrySetException(one);
                }
            }
        }
    }
}
