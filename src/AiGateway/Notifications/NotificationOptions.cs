using Microsoft.Extensions.Options;

namespace AiGateway.Notifications;

/// <summary>Balance notifications (section <c>Notifications</c>): where webhooks go, which events, and the global thresholds.</summary>
public sealed class NotificationOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "Notifications";

    /// <summary>The receivers. None configured: no event is written at all (and the settlement path does no extra work).</summary>
    public List<WebhookEndpointOptions> Endpoints { get; set; } = [];

    /// <summary>Event types sent by default (an account may choose its own list); empty means every type.</summary>
    public List<string> Events { get; set; } = [];

    /// <summary>Global low-balance threshold in credits (used when neither the account nor <see cref="LowBalancePercent"/> sets one).</summary>
    public decimal? LowBalanceCredits { get; set; }

    /// <summary>Global low-balance threshold as a percentage (1–100) of the account's last grant; wins over <see cref="LowBalanceCredits"/>.</summary>
    public int? LowBalancePercent { get; set; }

    /// <summary>A lot with credits left is announced this many days before it expires (0 = never).</summary>
    public int ExpiringWithinDays { get; set; } = 7;

    /// <summary>How often the lot-expiry scan runs.</summary>
    public TimeSpan ExpiryScanInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How often the dispatcher looks for due deliveries when nothing woke it.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Time allowed for one delivery attempt (connect, send, response).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Delay before the second attempt; each later delay doubles, up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest delay between two attempts.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>A delivery still failing this long after its event is given up (<c>failed</c>; an admin can re-send it).</summary>
    public TimeSpan GiveUpAfter { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Whether any endpoint is configured (otherwise the feature is off).</summary>
    public bool Enabled => Endpoints.Count > 0;

    /// <summary>Event types the endpoints as a whole want by default.</summary>
    public IReadOnlyList<string> DefaultEvents => Events.Count == 0 ? NotificationEventTypes.All : Events;
}

/// <summary>One webhook receiver.</summary>
public sealed class WebhookEndpointOptions
{
    /// <summary>A short unique name (shown in the admin API's deliveries).</summary>
    public string Name { get; set; } = "";

    /// <summary>The absolute http(s) URL events are POSTed to.</summary>
    public string Url { get; set; } = "";

    /// <summary>
    /// The signing secret, <c>whsec_</c> + base64 of 24–64 random bytes; set it through the environment
    /// (<c>Notifications__Endpoints__0__Secret</c>), never in a file in the repository.
    /// </summary>
    public string Secret { get; set; } = "";

    /// <summary>Event types this endpoint receives; empty means every type.</summary>
    public List<string> Events { get; set; } = [];

    /// <summary>Whether this endpoint takes events of <paramref name="type"/>.</summary>
    public bool Wants(string type) => Events.Count == 0 || Events.Contains(type, StringComparer.Ordinal);
}

/// <summary>Checks the <c>Notifications</c> section at start-up.</summary>
internal sealed class NotificationOptionsValidator : IValidateOptions<NotificationOptions>
{
    public ValidateOptionsResult Validate(string? name, NotificationOptions options)
    {
        var errors = new List<string>();
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < options.Endpoints.Count; i++)
        {
            var e = options.Endpoints[i];
            var at = $"Notifications:Endpoints:{i}";
            if (string.IsNullOrWhiteSpace(e.Name) || e.Name.Length > 100) errors.Add($"{at}:Name is required (at most 100 characters).");
            else if (!names.Add(e.Name)) errors.Add($"{at}:Name '{e.Name}' is used twice.");
            if (!Uri.TryCreate(e.Url, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
                errors.Add($"{at}:Url must be an absolute http or https URL.");
            if (!WebhookSignature.TryReadSecret(e.Secret, out _))
                errors.Add($"{at}:Secret must be whsec_ followed by the base64 of 24 to 64 bytes.");
            errors.AddRange(e.Events.Where(t => !NotificationEventTypes.IsKnown(t)).Select(t => $"{at}:Events: unknown event type '{t}'."));
        }
        errors.AddRange(options.Events.Where(t => !NotificationEventTypes.IsKnown(t)).Select(t => $"Notifications:Events: unknown event type '{t}'."));
        if (options.LowBalanceCredits is { } credits && (credits < 0 || credits > 1_000_000_000 || decimal.Round(credits, 6) != credits))
            errors.Add("Notifications:LowBalanceCredits must be between 0 and 1e9 with at most six decimals.");
        if (options.LowBalancePercent is < 1 or > 100) errors.Add("Notifications:LowBalancePercent must be between 1 and 100.");
        if (options.ExpiringWithinDays is < 0 or > 365) errors.Add("Notifications:ExpiringWithinDays must be between 0 and 365.");
        if (options.PollInterval <= TimeSpan.Zero) errors.Add("Notifications:PollInterval must be positive.");
        if (options.ExpiryScanInterval <= TimeSpan.Zero) errors.Add("Notifications:ExpiryScanInterval must be positive.");
        if (options.Timeout <= TimeSpan.Zero || options.Timeout > TimeSpan.FromMinutes(5)) errors.Add("Notifications:Timeout must be between 0 and 5 minutes.");
        if (options.FirstRetryDelay <= TimeSpan.Zero || options.MaxRetryDelay < options.FirstRetryDelay)
            errors.Add("Notifications:FirstRetryDelay must be positive and at most MaxRetryDelay.");
        if (options.GiveUpAfter <= TimeSpan.Zero) errors.Add("Notifications:GiveUpAfter must be positive.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
