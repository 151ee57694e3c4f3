using System.Threading.RateLimiting;
using AiGateway.Accounts;
using AiGateway.Hosting;
using Microsoft.Extensions.Options;

namespace AiGateway.Proxy;

/// <summary>
/// The gateway's own partitioned limiters: a token bucket per key, one per account, and a concurrency limit per account.
/// Partitioned by the authenticated caller, so it can only run after gateway-key authentication.
/// </summary>
public sealed class GatewayRateLimiter : IAsyncDisposable
{
    /// <summary>Retry-After for a refusal by the concurrency cap, which has no schedule: a slot frees when some call ends.</summary>
    public static readonly TimeSpan ConcurrencyRetryAfter = TimeSpan.FromSeconds(1);

    private readonly RateLimitOptions _options;
    private readonly PartitionedRateLimiter<Guid>? _perKey;
    private readonly PartitionedRateLimiter<Guid>? _perAccount;
    private readonly PartitionedRateLimiter<Guid>? _concurrent;

    /// <summary>Creates the limiters that are switched on (a limit of 0 creates none).</summary>
    public GatewayRateLimiter(IOptions<RateLimitOptions> options)
    {
        _options = options.Value;
        _perKey = PerMinute(_options.PerKeyPerMinute);
        _perAccount = PerMinute(_options.PerAccountPerMinute);
        if (_options.ConcurrentPerAccount > 0)
        {
            var limit = _options.ConcurrentPerAccount;
            _concurrent = PartitionedRateLimiter.Create<Guid, Guid>(id => RateLimitPartition.GetConcurrencyLimiter(id,
                _ => new ConcurrencyLimiterOptions { PermitLimit = limit, QueueLimit = 0 }));
        }
    }

    /// <summary>The outcome of one admission: hold it (dispose at the end of the call) when acquired, else refuse with the reason.</summary>
    public sealed class Admission(RateLimitLease? concurrency, string? refusal, TimeSpan retryAfter, string? limit = null) : IDisposable
    {
        /// <summary>True when every limit admitted the call.</summary>
        public bool IsAcquired => refusal is null;

        /// <summary>Why the call was refused (null when admitted).</summary>
        public string? Refusal => refusal;

        /// <summary>Which limit refused the call (<c>concurrency</c>, <c>key</c>, <c>account</c>); null when admitted.</summary>
        public string? Limit => limit;

        /// <summary>How long the caller should wait before retrying (refusals only).</summary>
        public TimeSpan RetryAfter => retryAfter;

        /// <summary>Frees the concurrency slot.</summary>
        public void Dispose() => concurrency?.Dispose();
    }

    /// <summary>Takes a concurrency slot, then one request from the key's and the account's buckets; never waits.</summary>
    public Admission Admit(CallerAccount caller)
    {
        // The concurrency slot first: it is the only permit that can be given back when a later limit refuses.
        RateLimitLease? slot = null;
        if (_concurrent is not null)
        {
            slot = _concurrent.AttemptAcquire(caller.AccountId);
            if (!slot.IsAcquired)
            {
                slot.Dispose();
                return new Admission(null, $"Too many concurrent requests for this account (limit {_options.ConcurrentPerAccount}).",
                    ConcurrencyRetryAfter, "concurrency");
            }
        }
        if (Refused(_perKey, caller.KeyId, $"Rate limit reached for this API key: {_options.PerKeyPerMinute} requests per minute.", "key") is { } byKey)
        {
            slot?.Dispose();
            return byKey;
        }
        if (Refused(_perAccount, caller.AccountId, $"Rate limit reached for this account: {_options.PerAccountPerMinute} requests per minute.", "account") is { } byAccount)
        {
            slot?.Dispose();
            return byAccount;
        }
        return new Admission(slot, null, TimeSpan.Zero);
    }

    public async ValueTask DisposeAsync()
    {
        if (_perKey is not null) await _perKey.DisposeAsync();
        if (_perAccount is not null) await _perAccount.DisposeAsync();
        if (_concurrent is not null) await _concurrent.DisposeAsync();
    }

    private static Admission? Refused(PartitionedRateLimiter<Guid>? limiter, Guid partition, string message, string limit)
    {
        if (limiter is null) return null;
        using var lease = limiter.AttemptAcquire(partition);
        if (lease.IsAcquired) return null;
        var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
        return new Admission(null, message, retryAfter, limit);
    }

    private static PartitionedRateLimiter<Guid>? PerMinute(int perMinute)
    {
        if (perMinute <= 0) return null;
        // Refill evenly (not a fixed window, which would allow twice the limit across a window edge): at least one token a
        // second for large limits, or one token every 60/N seconds for small ones; bursts up to a minute's worth.
        var (tokens, period) = perMinute >= 60
            ? (perMinute / 60, TimeSpan.FromSeconds(1))
            : (1, TimeSpan.FromSeconds(60.0 / perMinute));
        return PartitionedRateLimiter.Create<Guid, Guid>(id => RateLimitPartition.GetTokenBucketLimiter(id, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = perMinute,
            TokensPerPeriod = tokens,
            ReplenishmentPeriod = period,
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
    }
}
