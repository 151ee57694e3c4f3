namespace AiGateway.Hosting;

/// <summary>Gateway-wide settings bound from the <c>Gateway</c> configuration section.</summary>
public sealed class GatewayOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "Gateway";

    /// <summary>Bearer key for the admin API; when empty the admin API answers 401 to everyone.</summary>
    public string? AdminKey { get; set; }

    /// <summary>How long a resolved gateway key stays cached on an instance; bounds how late a revocation takes effect on other instances.</summary>
    public TimeSpan KeyCacheTtl { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The largest request body the gateway reads for metered calls (413 beyond).</summary>
    public long MaxRequestBodyBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>How often the gateway checks whether to return memory left committed after a burst (<see cref="MemoryTrimService"/>); zero turns it off.</summary>
    public TimeSpan MemoryTrimInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How far above start-up the GC's committed memory must be for a gateway gone quiet after a burst to trim it.</summary>
    public long MemoryTrimSurplusBytes { get; set; } = 16 * 1024 * 1024;
}
