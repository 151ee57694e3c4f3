namespace AiGateway.Hosting;

/// <summary>Request rate and concurrency limits per gateway key and per account, bound from the <c>RateLimits</c> section; 0 turns a limit off.</summary>
public sealed class RateLimitOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "RateLimits";

    /// <summary>Requests per minute one gateway key may make on provider routes (token bucket: bursts up to this many).</summary>
    public int PerKeyPerMinute { get; set; } = 600;

    /// <summary>Requests per minute all keys of one account may make together on provider routes.</summary>
    public int PerAccountPerMinute { get; set; } = 1200;

    /// <summary>Provider calls one account may have in flight at once (streams count until they end).</summary>
    public int ConcurrentPerAccount { get; set; } = 64;

    /// <summary>
    /// Failed authentications (missing, malformed, unknown or revoked keys) per minute one client address may make;
    /// beyond it the address gets 429 for any key not already known to this instance, without a database lookup.
    /// </summary>
    public int FailedAuthPerMinute { get; set; } = 60;
}
