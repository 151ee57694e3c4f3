using System.Diagnostics.CodeAnalysis;

namespace AiGateway.Providers;

/// <summary>The outcome of parsing a provider request: exactly one of <see cref="Request"/> and <see cref="Error"/> is set.</summary>
/// <param name="Request">The parsed request (dispose it when the call is done), or null on error.</param>
/// <param name="Error">The 400 error to return in the provider's shape, or null on success.</param>
public readonly record struct RequestParseResult(ParsedRequest? Request, GatewayError? Error)
{
    /// <summary>Whether parsing succeeded and <see cref="Request"/> is set.</summary>
    [MemberNotNullWhen(true, nameof(Request))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsSuccess => Request is not null;

    /// <summary>A successful result.</summary>
    public static RequestParseResult Ok(ParsedRequest request) => new(request, null);

    /// <summary>A failed result (a 400 in the calling provider's error shape).</summary>
    public static RequestParseResult Fail(GatewayError error) => new(null, error);
}
