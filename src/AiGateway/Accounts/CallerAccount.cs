namespace AiGateway.Accounts;

/// <summary>The account and key a request was authenticated with; set by the gateway-key authentication step.</summary>
public sealed record CallerAccount(Guid AccountId, Guid KeyId, string KeyPrefix, string? Plan);

/// <summary>Access to the authenticated caller of the current request.</summary>
public static class CallerAccountExtensions
{
    private static readonly object Key = new();

    /// <summary>The authenticated caller, or null when the request carried no valid gateway key.</summary>
    public static CallerAccount? GetCallerAccount(this HttpContext context) =>
        context.Items.TryGetValue(Key, out var value) ? value as CallerAccount : null;

    /// <summary>Sets the authenticated caller for the rest of the request.</summary>
    public static void SetCallerAccount(this HttpContext context, CallerAccount caller) => context.Items[Key] = caller;
}
