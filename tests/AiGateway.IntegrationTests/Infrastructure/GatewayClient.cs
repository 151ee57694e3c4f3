using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace AiGateway.IntegrationTests.Infrastructure;

/// <summary>A gateway-key client for the user API, with small helpers tests share.</summary>
public sealed class GatewayClient : IDisposable
{
    private readonly HttpClient _http;

    /// <summary>Wraps a client of <paramref name="factory"/> authenticated with <paramref name="key"/>.</summary>
    public GatewayClient(GatewayFactory factory, string key)
    {
        _http = factory.CreateClient();
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        Key = key;
    }

    /// <summary>The gateway key.</summary>
    public string Key { get; }

    /// <summary>The underlying client (Bearer key set).</summary>
    public HttpClient Http => _http;

    /// <summary>Available credits from <c>GET /v1/credits</c>.</summary>
    public async Task<decimal> AvailableAsync() => (await BalanceAsync())["available"]!.GetValue<decimal>();

    /// <summary>The whole <c>GET /v1/credits</c> answer.</summary>
    public async Task<JsonObject> BalanceAsync() =>
        (await (await _http.GetAsync("/v1/credits")).EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonObject>())!;

    /// <summary>The call record of a request id (waits briefly: records are written as the request ends).</summary>
    public async Task<JsonObject> CallAsync(string requestId)
    {
        for (var i = 0; ; i++)
        {
            using var response = await _http.GetAsync($"/v1/credits/calls/{requestId}");
            if (response.IsSuccessStatusCode) return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
            if (i > 50) throw new InvalidOperationException($"No call record for {requestId}: {(int)response.StatusCode}");
            await Task.Delay(100);
        }
    }

    /// <summary>Posts a JSON body to a path with the key in the OpenAI place.</summary>
    public Task<HttpResponseMessage> PostJsonAsync(string path, string json, HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead) =>
        _http.SendAsync(new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") }, completion);

    public void Dispose() => _http.Dispose();
}
