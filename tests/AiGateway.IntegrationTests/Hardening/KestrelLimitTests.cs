using System.Net;
using System.Text;

namespace AiGateway.IntegrationTests.Hardening;

/// <summary>Kestrel's request limits come from configuration (<c>Kestrel:Limits:*</c>), so operators can tighten them.</summary>
public sealed class KestrelLimitTests
{
    [Fact]
    public async Task HeaderLimit_ConfiguredLower_Returns431ForHeadersUnderTheDefault()
    {
        var host = await HardeningHost.StartAsync(new Dictionary<string, string?> { ["Kestrel:Limits:MaxRequestHeadersTotalSize"] = "8192" });
        try
        {
            using var request = host.Request(Target.OpenAi, Encoding.UTF8.GetBytes(HardeningHost.GoodBody(Target.OpenAi)));
            // 12 KiB: under Kestrel's 32 KiB default, over the configured 8 KiB.
            request.Headers.Add("X-Padding", new string('a', 12 * 1024));

            using var response = await host.Http.SendAsync(request);

            Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        }
        finally
        {
            await host.DisposeAsync();
        }
    }
}
