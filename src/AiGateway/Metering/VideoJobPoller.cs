using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using AiGateway.Ledger;
using AiGateway.Providers;
using AiGateway.Proxy;
using AiGateway.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy;

namespace AiGateway.Metering;

/// <summary>
/// Polls the video jobs the gateway created until they finish, so a job is settled (or released) even when its client
/// never polls through the gateway (e.g. it only fetches <c>/videos/{id}/content</c>, which passes through unmetered).
/// Pending jobs are read from the database at every round, so they survive restarts and any instance may poll them;
/// resolving is exactly-once in the ledger, so the client's own polls and other instances' pollers never charge twice.
/// Each job is polled with the provider key of the cluster it was created on, at most
/// <see cref="MeteringOptions.VideoPollConcurrency"/> at a time, backing off from <see cref="MeteringOptions.VideoPollInterval"/>
/// to <see cref="MeteringOptions.VideoPollMaxInterval"/>; a job still pending at its bound
/// (<see cref="MeteringOptions.VideoJobHoldTtl"/>) is given up and its hold released.
/// </summary>
public sealed class VideoJobPoller(
    IDbContextFactory<LedgerDbContext> dbFactory,
    VideoJobs jobs,
    IProxyStateLookup proxy,
    IConfiguration configuration,
    IOptions<MeteringOptions> options,
    TimeProvider time,
    ILogger<VideoJobPoller> logger) : BackgroundService
{
    private const int MaxJobsPerRound = 200;
    private const int MaxStatusBytes = 1 << 20;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    // When each pending job is next due, in this process's monotonic clock (backoff is per instance; a restart polls at once).
    private readonly ConcurrentDictionary<(Guid AccountId, string VideoId), Backoff> _backoff = new();

    private sealed record Backoff(long DueTimestamp, int Polls);

    /// <summary>Polls every pending job that is due once; returns how many were resolved.</summary>
    public async Task<int> PollDueAsync(CancellationToken cancellationToken = default)
    {
        List<VideoJob> pending;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            pending = await db.VideoJobs.AsNoTracking().Where(j => j.ResolvedAt == null)
                .OrderBy(j => j.CreatedAt).Take(MaxJobsPerRound).ToListAsync(cancellationToken);
        }
        var nowTimestamp = Stopwatch.GetTimestamp();
        var keys = pending.Select(j => (j.AccountId, j.VideoId)).ToHashSet();
        foreach (var gone in _backoff.Keys.Where(k => !keys.Contains(k)).ToList()) _backoff.TryRemove(gone, out _);
        var due = new List<VideoJob>();
        foreach (var job in pending)
        {
            // A job first seen now is polled one interval later: its creating request is still writing its record.
            var backoff = _backoff.GetOrAdd((job.AccountId, job.VideoId), _ => new Backoff(Later(nowTimestamp, 0), 0));
            if (backoff.DueTimestamp <= nowTimestamp) due.Add(job);
        }
        var resolved = 0;
        await Parallel.ForEachAsync(due, new ParallelOptions { MaxDegreeOfParallelism = options.Value.VideoPollConcurrency, CancellationToken = cancellationToken },
            async (job, ct) =>
            {
                if (await PollAsync(job, ct)) Interlocked.Increment(ref resolved);
            });
        return resolved;
    }

    /// <summary>Polls one job and resolves it when it finished (or reached its bound); otherwise schedules its next poll.</summary>
    private async Task<bool> PollAsync(VideoJob job, CancellationToken cancellationToken)
    {
        var key = (job.AccountId, job.VideoId);
        var status = await FetchStatusAsync(job, cancellationToken);
        var outcome = status is "completed" or "failed" ? status
            : time.GetUtcNow() >= job.CreatedAt + options.Value.VideoJobHoldTtl ? VideoJobs.Expired
            : null;
        if (outcome is not null)
        {
            try
            {
                if (outcome == VideoJobs.Expired)
                {
                    logger.LogWarning("Video job {VideoId}: still {Status} at its bound; giving it up and releasing its hold", job.VideoId, status ?? "unknown");
                }
                if (await jobs.ResolveAsync(job, outcome))
                {
                    _backoff.TryRemove(key, out _);
                    return true;
                }
            }
            catch (Exception ex) when (DatabaseFailure.Is(ex))
            {
                logger.LogWarning(ex, "Video job {VideoId}: could not resolve it now; retrying later", job.VideoId);
            }
        }
        var polls = _backoff.TryGetValue(key, out var previous) ? previous.Polls + 1 : 1;
        _backoff[key] = new Backoff(Later(Stopwatch.GetTimestamp(), polls), polls);
        return false;
    }

    /// <summary>The job's status from the provider (<c>GET v1/videos/{id}</c> on the job's cluster), or null when it could not be read.</summary>
    private async Task<string?> FetchStatusAsync(VideoJob job, CancellationToken cancellationToken)
    {
        var clusterId = job.Cluster ?? "openai";
        if (!proxy.TryGetCluster(clusterId, out var cluster))
        {
            logger.LogWarning("Video job {VideoId}: cluster {Cluster} is not configured; cannot poll it", job.VideoId, clusterId);
            return null;
        }
        var destination = cluster.DestinationsState.AvailableDestinations.FirstOrDefault() ?? cluster.Destinations.Values.FirstOrDefault();
        if (destination is null) return null;
        var address = destination.Model.Config.Address.TrimEnd('/');
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{address}/v1/videos/{Uri.EscapeDataString(job.VideoId)}");
        if (GatewayRoute.ApiKeyVariableOf(cluster.Model.Config) is { } variable && configuration[variable] is { Length: > 0 } providerKey)
        {
            ProviderCredentials.ApplyProviderKey(request, ProviderFormat.OpenAi, providerKey);
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(RequestTimeout);
        try
        {
            using var response = await cluster.Model.HttpClient.SendAsync(request, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                // Never the body: a provider's 401 may quote fragments of the operator's key.
                logger.LogWarning("Video job {VideoId}: status poll answered {Status}", job.VideoId, (int)response.StatusCode);
                return null;
            }
            return VideoJobs.StatusOf(await ReadBoundedAsync(response, timeout.Token));
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or InvalidDataException
                                   || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            logger.LogWarning("Video job {VideoId}: status poll failed ({Error})", job.VideoId, ex.GetType().Name);
            return null;
        }
    }

    private static async Task<byte[]> ReadBoundedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var memory = new MemoryStream();
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                if (memory.Length + read > MaxStatusBytes) throw new InvalidDataException("The video status exceeded 1 MiB.");
                memory.Write(buffer, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return memory.ToArray();
    }

    /// <summary>The monotonic timestamp of the next poll after <paramref name="polls"/> polls: the interval, doubling up to the maximum.</summary>
    private long Later(long fromTimestamp, int polls)
    {
        var o = options.Value;
        var delay = TimeSpan.FromTicks(Math.Min(o.VideoPollMaxInterval.Ticks, o.VideoPollInterval.Ticks << Math.Min(polls, 16)));
        return fromTimestamp + (long)(delay.TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>Polls a round every <see cref="MeteringOptions.VideoPollInterval"/> (real time) until the host stops.</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.VideoPollInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await PollDueAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // E.g. the database briefly unavailable: the next round tries again.
                logger.LogWarning(ex, "Video job polling round failed");
            }
        }
    }
}
