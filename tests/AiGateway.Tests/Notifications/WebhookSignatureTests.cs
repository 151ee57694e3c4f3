using System.Security.Cryptography;
using System.Text;
using AiGateway.Notifications;

namespace AiGateway.Tests.Notifications;

/// <summary>Standard Webhooks signing, checked against the specification's published vector and an HMAC computed here.</summary>
public sealed class WebhookSignatureTests
{
    private const string Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    [Fact]
    public void Sign_PublishedStandardWebhooksVector_ReproducesItExactly()
    {
        Assert.True(WebhookSignature.TryReadSecret(Secret, out var key));

        var signature = WebhookSignature.Sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, """{"test": 2432232314}""");

        Assert.Equal("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", signature);
    }

    [Fact]
    public void Sign_EqualsHmacOfIdTimestampBodyWithSecretBytes_AndATamperedBodyDoesNotVerify()
    {
        WebhookSignature.TryReadSecret(Secret, out var key);
        const string body = """{"type":"balance.low","timestamp":"2026-11-30T00:00:00+00:00","data":{"balance":9}}""";

        var header = WebhookSignature.Sign(key, "msg_1", 1764460800, body);

        // As a receiver does it: base64-decode the part after whsec_, HMAC-SHA256 over "{id}.{timestamp}.{body}".
        var keyBytes = Convert.FromBase64String(Secret["whsec_".Length..]);
        var expected = Convert.ToBase64String(HMACSHA256.HashData(keyBytes, Encoding.UTF8.GetBytes("msg_1.1764460800." + body)));
        Assert.Equal("v1," + expected, header);
        var tampered = Convert.ToBase64String(HMACSHA256.HashData(keyBytes, Encoding.UTF8.GetBytes("msg_1.1764460800." + body.Replace("9", "99"))));
        Assert.NotEqual("v1," + tampered, header);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    [InlineData("whsec_not base64!")]
    [InlineData("whsec_c2hvcnQ=")]
    public void TryReadSecret_MalformedOrShort_False(string? secret) => Assert.False(WebhookSignature.TryReadSecret(secret, out _));
}
