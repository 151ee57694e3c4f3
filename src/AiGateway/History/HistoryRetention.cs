using AiGateway.Ledger;
using AiGateway.Metering;
using AiGateway.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AiGateway.History;

/// <summary>
/// Retention without loss: call records that started before the first day of the month
/// <see cref="HistoryOptions.CallRetentionMonths"/> months ago are written to the <see cref="CallArchive"/> (one part per
/// month and run), listed in its manifest, and only then deleted, in batches of
/// <see cref="HistoryOptions.RetentionDeleteBatch"/>. Only calls at or below the rollup watermark are taken, so every
/// deleted call is already in the rollups (summaries keep it) and no insert still in flight can land below a part's
/// bound. Credit movements (lots, charges, allocations, ledger entries) and rollups are kept: they explain the balance.
/// </summary>
/// <remarks>
/// Interrupted anywhere, the next run loses and repeats nothing: a part not yet in the manifest is written again; rows
/// of a month at or below a listed part's bound are already archived, so they are only deleted (after the part's file
/// is checked against its checksum); rows above it go to a new part.
/// </remarks>
public sealed class HistoryRetention(
    IDbContextFactory<LedgerDbContext> dbFactory, DatabaseWriter writer, IOptions<HistoryOptions> options, TimeProvider time, ILogger<HistoryRetention> logger)
{
    private const int ReadChunk = 1000;

    /// <summary>What one run did.</summary>
    public sealed record Result(long Archived, long Deleted, IReadOnlyList<string> Parts);

    /// <summary>The first instant whose calls are kept.</summary>
    public DateTimeOffset Cutoff()
    {
        var now = time.GetUtcNow();
        return new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(-options.Value.CallRetentionMonths);
    }

    /// <summary>Archives and deletes every call older than <see cref="Cutoff"/>; <paramref name="crashAfterArchive"/> stops before deleting (tests of an interrupted run).</summary>
    public async Task<Result> RunAsync(CancellationToken ct, bool crashAfterArchive = false)
    {
        var archive = new CallArchive(options.Value.ArchivePath);
        var cutoff = Cutoff();
        long archived = 0, deleted = 0;
        var parts = new List<string>();
        List<Guid> accounts;
        long watermark;
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
        {
            accounts = await db.Accounts.AsNoTracking().OrderBy(a => a.Id).Select(a => a.Id).ToListAsync(ct);
            watermark = await UsageRollupStep.ReadWatermarkAsync(db, ct);
        }
        var oldest = await OldestAsync(accounts, cutoff, ct);
        if (oldest is null) return new Result(0, 0, parts);
        for (var month = new DateTimeOffset(oldest.Value.Year, oldest.Value.Month, 1, 0, 0, 0, TimeSpan.Zero); month < cutoff; month = month.AddMonths(1))
        {
            var label = month.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);
            var listed = archive.ReadManifest().Parts.Where(p => p.Table == "call_records" && p.Month == label).ToList();
            var archivedUpTo = listed.Count == 0 ? 0 : listed.Max(p => p.UpToId);
            // Left over by an interrupted run: archived already, so only deleted (once the files check out).
            if (listed.Count > 0)
            {
                foreach (var part in listed) await archive.VerifyAsync(part, ct);
                deleted += await DeleteAsync(accounts, month, 0, archivedUpTo, ct);
            }
            if (watermark <= archivedUpTo) continue;
            var rows = Rows(accounts, month, archivedUpTo, watermark, ct);
            var (file, count, sha) = await archive.WritePartAsync(label, watermark, rows.Records(), ct);
            if (count == 0)
            {
                File.Delete(Path.Combine(archive.Folder, file));
                continue;
            }
            var (minId, maxId) = rows.IdRange;
            archive.AddPart(new CallArchive.Part(file, "call_records", label, count, minId, maxId, watermark, sha, time.GetUtcNow()));
            archived += count;
            parts.Add(file);
            logger.LogInformation("Archived {Count} call records of {Month} to {File}", count, label, file);
            if (crashAfterArchive) throw new OperationCanceledException("Stopped after archiving (test of an interrupted run).");
            deleted += await DeleteAsync(accounts, month, archivedUpTo, watermark, ct);
        }
        return new Result(archived, deleted, parts);
    }

    /// <summary>
    /// Claims the retention run for <paramref name="lease"/> across instances (a row in <c>history_watermarks</c> whose
    /// position is the claim's end in ticks), so two instances never archive the same month into one folder at once.
    /// </summary>
    public async Task<bool> TryClaimAsync(TimeSpan lease, CancellationToken ct)
    {
        var claimed = false;
        await writer.WriteAsync(async db =>
        {
            await db.Database.ExecuteSqlRawAsync(
                "INSERT INTO history_watermarks (name, position, updated_at) VALUES ('retention_claim', 0, 0) ON CONFLICT (name) DO NOTHING", ct);
            var now = time.GetUtcNow();
            var until = now.Add(lease).UtcTicks;
            var nowTicks = now.UtcTicks;
            claimed = await db.HistoryWatermarks.Where(w => w.Name == "retention_claim" && w.Position < nowTicks)
                .ExecuteUpdateAsync(u => u.SetProperty(w => w.Position, until).SetProperty(w => w.UpdatedAt, now), ct) == 1;
        });
        return claimed;
    }

    /// <summary>Ends a claim taken by <see cref="TryClaimAsync"/>.</summary>
    public Task ReleaseClaimAsync() => writer.WriteAsync(async db =>
    {
        await db.HistoryWatermarks.Where(w => w.Name == "retention_claim").ExecuteUpdateAsync(u => u.SetProperty(w => w.Position, 0L));
    });

    /// <summary>The earliest start of a call older than the cutoff, over the accounts' (account_id, started_at) index.</summary>
    private async Task<DateTimeOffset?> OldestAsync(List<Guid> accounts, DateTimeOffset cutoff, CancellationToken ct)
    {
        DateTimeOffset? oldest = null;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        foreach (var account in accounts)
        {
            var first = await db.CallRecords.AsNoTracking().Where(r => r.AccountId == account && r.StartedAt < cutoff)
                .OrderBy(r => r.StartedAt).Select(r => (DateTimeOffset?)r.StartedAt).FirstOrDefaultAsync(ct);
            if (first is { } f && (oldest is null || f < oldest)) oldest = f;
        }
        return oldest;
    }

    /// <summary>The month's calls with ids in <c>(after, upTo]</c>, account by account, in keyset chunks (each its own short read).</summary>
    private MonthRows Rows(List<Guid> accounts, DateTimeOffset month, long after, long upTo, CancellationToken ct) =>
        new(dbFactory, accounts, month, after, upTo, ct);

    private sealed class MonthRows(
        IDbContextFactory<LedgerDbContext> dbFactory, List<Guid> accounts, DateTimeOffset month, long after, long upTo, CancellationToken ct)
    {
        /// <summary>The smallest and largest id read so far.</summary>
        public (long Min, long Max) IdRange { get; private set; } = (long.MaxValue, 0);

        public async IAsyncEnumerable<CallRecord> Records()
        {
            var end = month.AddMonths(1);
            foreach (var account in accounts)
            {
                var from = month;
                long lastId = 0;
                while (true)
                {
                    await using var db = await dbFactory.CreateDbContextAsync(ct);
                    var (t, id) = (from, lastId);
                    // Keyset (started_at, id) over the (account_id, started_at) index: the month of one account, in order.
                    var chunk = await db.CallRecords.AsNoTracking()
                        .Where(r => r.AccountId == account && r.StartedAt >= t && r.StartedAt < end && r.Id > after && r.Id <= upTo)
                        .Where(r => r.StartedAt > t || r.Id > id)
                        .OrderBy(r => r.StartedAt).ThenBy(r => r.Id).Take(ReadChunk).ToListAsync(ct);
                    foreach (var r in chunk)
                    {
                        IdRange = (Math.Min(IdRange.Min, r.Id), Math.Max(IdRange.Max, r.Id));
                        yield return r;
                    }
                    if (chunk.Count < ReadChunk) break;
                    (from, lastId) = (chunk[^1].StartedAt, chunk[^1].Id);
                }
            }
        }
    }

    /// <summary>Deletes the month's calls with ids in <c>(after, upTo]</c>, a bounded batch per transaction (in turn with the ledger's writers).</summary>
    private async Task<long> DeleteAsync(List<Guid> accounts, DateTimeOffset month, long after, long upTo, CancellationToken ct)
    {
        var end = month.AddMonths(1);
        var batch = options.Value.RetentionDeleteBatch;
        long total = 0;
        foreach (var account in accounts)
        {
            while (true)
            {
                var deleted = 0;
                await writer.WriteAsync(async db =>
                {
                    var ids = db.CallRecords.Where(r => r.AccountId == account && r.StartedAt >= month && r.StartedAt < end && r.Id > after && r.Id <= upTo)
                        .OrderBy(r => r.StartedAt).Select(r => r.Id).Take(batch);
                    deleted = await db.CallRecords.Where(r => ids.Contains(r.Id)).ExecuteDeleteAsync(ct);
                });
                total += deleted;
                if (deleted < batch) break;
            }
        }
        return total;
    }
}
