namespace AiGateway.Providers;

/// <summary>The outcome of rewriting a request body before forwarding it.</summary>
/// <param name="Body">The new body, or null when the original body can be forwarded unchanged.</param>
/// <param name="HideUsageChunk">Whether the gateway asked for streamed usage on the client's behalf, so the extra usage chunk must be withheld.</param>
public sealed record RequestRewrite(byte[]? Body, bool HideUsageChunk)
{
    /// <summary>Nothing to change.</summary>
    public static readonly RequestRewrite Unchanged = new(null, false);
}
