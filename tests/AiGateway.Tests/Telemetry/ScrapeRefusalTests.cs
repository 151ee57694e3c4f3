using AiGateway.Telemetry;
using Microsoft.AspNetCore.Http;

namespace AiGateway.Tests.Telemetry;

/// <summary>Who may read <c>/metrics</c>: the admin key on the main listener, or anyone on the dedicated metrics port only.</summary>
public sealed class ScrapeRefusalTests
{
    private static DefaultHttpContext Request(int localPort, string? authorization = null)
    {
        var context = new DefaultHttpContext();
        context.Connection.LocalPort = localPort;
        if (authorization is not null) context.Request.Headers.Authorization = authorization;
        return context;
    }

    [Fact]
    public void ScrapeRefusal_AdminKeyMode_ServesTheAdminKeyOnly()
    {
        Assert.Null(TelemetryExtensions.ScrapeRefusal(Request(8080, "Bearer admin-key-1"), null, "admin-key-1"));
        Assert.Equal(401, TelemetryExtensions.ScrapeRefusal(Request(8080), null, "admin-key-1"));
        Assert.Equal(401, TelemetryExtensions.ScrapeRefusal(Request(8080, "Bearer admin-key-2"), null, "admin-key-1"));
        Assert.Equal(401, TelemetryExtensions.ScrapeRefusal(Request(8080, "Bearer admin-key-1x"), null, "admin-key-1"));
        // No admin key configured: nobody (an empty bearer must not match an empty key).
        Assert.Equal(401, TelemetryExtensions.ScrapeRefusal(Request(8080, "Bearer "), null, null));
        Assert.Equal(401, TelemetryExtensions.ScrapeRefusal(Request(8080, "Bearer "), null, ""));
    }

    [Fact]
    public void ScrapeRefusal_PortMode_ServesTheMetricsPortOnly_WithoutKey()
    {
        Assert.Null(TelemetryExtensions.ScrapeRefusal(Request(9464), 9464, "admin-key-1"));
        // On the public port the endpoint does not exist, whatever key comes with the request.
        Assert.Equal(404, TelemetryExtensions.ScrapeRefusal(Request(8080), 9464, "admin-key-1"));
        Assert.Equal(404, TelemetryExtensions.ScrapeRefusal(Request(8080, "Bearer admin-key-1"), 9464, "admin-key-1"));
    }
}
