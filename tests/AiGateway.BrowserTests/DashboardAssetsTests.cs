using System.Net;

namespace AiGateway.BrowserTests;

/// <summary>How the dashboard's static files are served: scoped to /dashboard, with a strict content security policy.</summary>
public sealed class DashboardAssetsTests(BrowserFixture f) : IClassFixture<BrowserFixture>
{
    private HttpClient NoRedirectClient() =>
        new(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = f.Gateway.BaseAddress };

    [Fact]
    public async Task Dashboard_WithoutTrailingSlash_RedirectsToTheFolder()
    {
        using var http = NoRedirectClient();

        using var response = await http.GetAsync("/dashboard");

        Assert.Equal(HttpStatusCode.MovedPermanently, response.StatusCode);
        Assert.EndsWith("/dashboard/", response.Headers.Location!.ToString());
    }

    [Theory]
    [InlineData("/dashboard/", "text/html")]
    [InlineData("/dashboard/dashboard.js", "text/javascript")]
    [InlineData("/dashboard/dashboard.css", "text/css")]
    [InlineData("/dashboard/vendor/chart.umd.min.js", "text/javascript")]
    public async Task Assets_Served_WithTypeAndSecurityHeaders(string path, string mediaType)
    {
        using var http = NoRedirectClient();

        using var response = await http.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("script-src 'self'", response.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.NotEmpty(await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("/dashboard/missing.js")]
    [InlineData("/vendor/chart.umd.min.js")]
    [InlineData("/index.html")]
    public async Task PathsOutsideTheDashboard_NotServed(string path)
    {
        using var http = NoRedirectClient();

        using var response = await http.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
