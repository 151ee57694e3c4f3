using AiGateway.Pricing;

namespace AiGateway.Metering;

/// <summary>The credit headers of metered responses (amounts in credits as decimal numbers).</summary>
public static class CreditHeaders
{
    /// <summary>The pre-call estimate.</summary>
    public const string Estimate = "X-Credits-Estimate";

    /// <summary>Available credits after this call's hold (streams, errors) or charge (non-streaming 2xx).</summary>
    public const string Remaining = "X-Credits-Remaining";

    /// <summary>The settled charge (non-streaming responses only).</summary>
    public const string Charged = "X-Credits-Charged";

    /// <summary>Writes the estimate and the remaining balance; adds the charge when it is known before the body is sent.</summary>
    public static void Write(HttpResponse response, Credits estimate, Credits remaining, Credits? charged)
    {
        response.Headers[Estimate] = estimate.ToString();
        response.Headers[Remaining] = remaining.ToString();
        if (charged is { } c) response.Headers[Charged] = c.ToString();
    }
}
