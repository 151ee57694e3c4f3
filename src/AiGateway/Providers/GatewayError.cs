namespace AiGateway.Providers;

/// <summary>The errors the gateway itself produces (not the upstream's), each with its HTTP status.</summary>
public enum GatewayErrorKind
{
    BadRequest,
    Unauthorized,
    InsufficientCredits,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unavailable,
    BadGateway,
    GatewayTimeout,
}

/// <summary>A gateway error to be written in the calling provider's error shape.</summary>
public sealed record GatewayError(GatewayErrorKind Kind, string Message, string? Code = null, string? Param = null)
{
    /// <summary>The HTTP status code for the error kind.</summary>
    public int StatusCode => Kind switch
    {
        GatewayErrorKind.BadRequest => 400,
        GatewayErrorKind.Unauthorized => 401,
        GatewayErrorKind.InsufficientCredits => 402,
        GatewayErrorKind.NotFound => 404,
        GatewayErrorKind.PayloadTooLarge => 413,
        GatewayErrorKind.RateLimited => 429,
        GatewayErrorKind.Unavailable => 503,
        GatewayErrorKind.BadGateway => 502,
        GatewayErrorKind.GatewayTimeout => 504,
        _ => 500,
    };
}
