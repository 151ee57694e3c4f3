namespace AiGateway.Providers;

/// <summary>Thrown inside the request parsers for a body the gateway refuses with a 400; never escapes <see cref="ProviderRequestParser"/>.</summary>
internal sealed class InvalidRequestException(string message, string? param = null) : Exception(message)
{
    /// <summary>The offending field, reported as OpenAI's <c>param</c>.</summary>
    public string? Param { get; } = param;
}
