using System.Text.Json;
using AiGateway.Accounts;
using AiGateway.Ledger;
using AiGateway.Pricing;
using AiGateway.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AiGateway.Metering;

/// <summary>
/// Asynchronous video: creating a job (<c>POST v1/videos</c>, answered <c>queued</c>/<c>in_progress</c>) keeps its hold
/// open and remembers the job; a status poll (<c>GET v1/videos/{id}</c>) — the client's, passing through the gateway,
/// or the gateway's own (<see cref="VideoJobPoller"/>) — settles the hold when it shows <c>completed</c> and releases it
/// when it shows <c>failed</c>. The ledger's settle/release are exactly-once, so concurrent or repeated polls (on any
/// instance) charge once.
/// </summary>
public sealed class VideoJobs(
    IDbContextFactory<LedgerDbContext> dbFactory, DatabaseWriter writer, CreditLedger ledger, IOptions<MeteringOptions> options, TimeProvider time,
    ILogger<VideoJobs> logger)
{
    // Polls are small JSON documents; anything larger is passed through without being inspected.
    private const int MaxPollBytes = 1 << 20;

    // How long a resolution waits for the creating call's record to be stored before it resolves without showing on it.
    private static readonly TimeSpan RecordGrace = TimeSpan.FromMinutes(1);

    /// <summary>The job id of a create response that is still running, or null when the job finished (or failed) at once.</summary>
    public static string? PendingJobId(byte[] body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.String) return null;
            var status = root.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            return status is "queued" or "in_progress" ? id.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The job id of a status poll path (<c>v1/videos/{id}</c>, nothing after it), or null for any other path.</summary>
    public static string? PollJobId(string path)
    {
        const string prefix = "v1/videos/";
        var p = path.TrimStart('/');
        if (!p.StartsWith(prefix, StringComparison.Ordinal)) return null;
        var id = p[prefix.Length..];
        return id.Length is > 0 and <= 200 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-') ? id : null;
    }

    /// <summary>Keeps the creating call's hold open for the job and remembers what the job will cost.</summary>
    public async Task StartAsync(MeteredCall call, string videoId, Credits cost)
    {
        await writer.WriteAsync(async db =>
        {
            db.VideoJobs.Add(new VideoJob
            {
                AccountId = call.Caller.AccountId, VideoId = videoId, RequestId = call.RequestId, CostMicro = cost.Micro,
                PricedModel = call.Estimate.Price.Name, CreatedAt = time.GetUtcNow(), Cluster = call.Provider,
            });
            await db.SaveChangesAsync();
        });
        await ledger.ExtendHoldAsync(call.RequestId, time.GetUtcNow() + options.Value.VideoJobHoldTtl);
    }

    /// <summary>Forwards a status poll; when it is of a pending job of the caller, settles or releases the job's hold by what it shows.</summary>
    public async Task PollAsync(HttpContext context, RequestDelegate next, CallerAccount caller, string videoId)
    {
        VideoJob? job;
        await using (var db = await dbFactory.CreateDbContextAsync(context.RequestAborted))
        {
            job = await db.VideoJobs.AsNoTracking()
                .SingleOrDefaultAsync(j => j.AccountId == caller.AccountId && j.VideoId == videoId && j.ResolvedAt == null, context.RequestAborted);
        }
        if (job is null)
        {
            await next(context);
            return;
        }

        var original = context.Response.Body;
        using var buffer = new MemoryStream();
        context.Response.Body = buffer;
        try
        {
            await next(context);
        }
        finally
        {
            context.Response.Body = original;
        }
        var body = buffer.ToArray();
        if (context.Response.StatusCode is >= 200 and <= 299 && body.Length <= MaxPollBytes && StatusOf(body) is { } status and ("completed" or "failed"))
        {
            try
            {
                await ResolveAsync(job, status);
            }
            catch (Exception ex) when (DatabaseFailure.Is(ex))
            {
                // The job stays pending: the next poll tries again (the hold keeps the credits meanwhile).
                logger.LogWarning(ex, "Video job {VideoId}: could not resolve its hold now", videoId);
            }
        }
        await original.WriteAsync(body, context.RequestAborted);
    }

    /// <summary>The outcome of a job that was still pending at its bound (<see cref="MeteringOptions.VideoJobHoldTtl"/>).</summary>
    public const string Expired = "expired";

    /// <summary>
    /// Resolves a job: settles its hold when <paramref name="status"/> is <c>completed</c>, releases it otherwise
    /// (<c>failed</c>, or <see cref="Expired"/> at the job's bound), then shows the outcome on the creating call's record
    /// and marks the job resolved. Exactly once in the ledger, however many polls (on any instance) do this at once.
    /// Returns false when the job must be resolved again later: the creating call's record is not stored yet (it is
    /// written as that request ends), so the outcome could not be shown on it (for at most a minute after creation).
    /// </summary>
    public async Task<bool> ResolveAsync(VideoJob job, string status)
    {
        var charged = Credits.Zero;
        var overage = Credits.Zero;
        var showOnRecord = true;
        if (status == "completed")
        {
            var result = await CallSettler.SettleOrChargeAsync(ledger, job.RequestId, job.AccountId, new Credits(job.CostMicro), logger,
                new CallScope(job.PricedModel, "video"));
            (charged, overage) = (result.Charged, result.Overage);
        }
        else
        {
            var released = await ledger.ReleaseAsync(job.RequestId, CancellationToken.None);
            // A job given up at its bound may have been settled by a poll just before: its record already shows that.
            showOnRecord = released.Status != ReleaseStatus.AlreadySettled;
        }
        if (showOnRecord)
        {
            // The creating call's record showed the job pending; it now shows what the job cost,
            // through the rollups too, so usage summaries keep equalling the calls.
            var source = status == "completed" ? CallSettler.Sources.Provider : CallSettler.Sources.None;
            var recorded = await History.UsageRollupStep.CorrectChargeAsync(writer, job.RequestId, charged.Micro, overage.Micro, source);
            // Written within moments of the job's creation, unless that instance died first: then resolve without it.
            if (!recorded && status != Expired && time.GetUtcNow() - job.CreatedAt < RecordGrace) return false;
        }
        var now = time.GetUtcNow();
        await writer.WriteAsync(db => db.VideoJobs.Where(j => j.AccountId == job.AccountId && j.VideoId == job.VideoId && j.ResolvedAt == null)
            .ExecuteUpdateAsync(u => u.SetProperty(j => j.ResolvedAt, now).SetProperty(j => j.Outcome, status)));
        return true;
    }

    /// <summary>The <c>status</c> of a video job document, or null when the body is not one.</summary>
    public static string? StatusOf(byte[] body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("status", out var s)
                   && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
