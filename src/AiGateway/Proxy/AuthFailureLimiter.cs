using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using AiGateway.Hosting;
using Microsoft.Extensions.Options;

namespace AiGateway.Proxy;

/// <summary>
/// Limits failed authentications per client address (<see cref="RateLimitOptions.FailedAuthPerMinute"/>): every
/// unknown key costs a database lookup and the per-key limits cannot count a key that names nobody. A token bucket per
/// address (IPv6 by its /64, which one client usually owns whole) is drawn on each failure; while it is empty, keys this
/// instance cannot resolve from its cache are refused without a lookup.
/// </summary>
public sealed class AuthFailureLimiter : IAsyncDisposable
{
    private readonly PartitionedRateLimiter<string>? _failures;

    /// <summary>Creates the limiter; a limit of 0 creates none (nothing is ever refused).</summary>
    public AuthFailureLimiter(IOptions<RateLimitOptions> options)
    {
        var perMinute = options.Value.FailedAuthPerMinute;
        if (perMinute <= 0) return;
        // Refilled evenly, like the per-key limits: bursts up to a minute's worth.
        var (tokens, period) = perMinute >= 60 ? (perMinute / 60, TimeSpan.FromSeconds(1)) : (1, TimeSpan.FromSeconds(60.0 / perMinute));
        _failures = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetTokenBucketLimiter(address,
            _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = perMinute,
                TokensPerPeriod = tokens,
                ReplenishmentPeriod = period,
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
    }

    /// <summary>Whether the address has used up its failures; then <paramref name="retryAfter"/> says when one is back.</summary>
    public bool IsBlocked(HttpContext context, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        if (_failures is null) return false;
        // Asking for zero permits only looks: it succeeds while any token is left.
        using var lease = _failures.AttemptAcquire(AddressOf(context), 0);
        if (lease.IsAcquired) return false;
        retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
        return true;
    }

    /// <summary>Counts one failed authentication against the client's address; false when it had none left (then answer 429).</summary>
    public bool TryRecordFailure(HttpContext context, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        if (_failures is null) return true;
        using var lease = _failures.AttemptAcquire(AddressOf(context));
        if (lease.IsAcquired) return true;
        retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
        return false;
    }

    /// <summary>The partition of a client: its IPv4 address, or the /64 network of an IPv6 one.</summary>
    private static string AddressOf(HttpContext context)
    {
        var address = context.Connection.RemoteIpAddress;
        if (address is null) return "-";
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return address.ToString();
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }

    public async ValueTask DisposeAsync()
    {
        if (_failures is not null) await _failures.DisposeAsync();
    }
}
