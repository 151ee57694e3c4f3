using System.Security.Cryptography;
using System.Text;
using AiGateway.Packs;

namespace AiGateway.Tests.Packs;

/// <summary>The Stripe-Signature check against headers built the way Stripe documents them.</summary>
public sealed class StripeSignatureTests
{
    private const string Secret = "whsec_test_0123456789abcdef";
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_790_000_000);
    private static readonly TimeSpan Tolerance = TimeSpan.FromSeconds(300);
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"id":"evt_1","type":"checkout.session.completed","data":{"object":{"id":"cs_1"}}}""");

    /// <summary>Stripe's scheme, written out independently of the code under test: hex HMAC-SHA256 of "{t}.{body}".</summary>
    internal static string Sign(long t, byte[] body, string secret)
    {
        var signedPayload = Encoding.UTF8.GetBytes($"{t}.").Concat(body).ToArray();
        return Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signedPayload));
    }

    private static StripeSignatureStatus Verify(string? header, byte[]? body = null) =>
        StripeSignature.Verify(header, body ?? Body, Secret, Now, Tolerance);

    [Fact]
    public void Verify_DocumentedHeader_IsValid()
    {
        var t = Now.ToUnixTimeSeconds();
        Assert.Equal(StripeSignatureStatus.Valid, Verify($"t={t},v1={Sign(t, Body, Secret)}"));
    }

    [Fact]
    public void Verify_SeveralV1AndV0Entries_AnyMatchingV1IsEnough()
    {
        var t = Now.ToUnixTimeSeconds();
        var header = $"t={t},v1={Sign(t, Body, "whsec_old_secret")},v1={Sign(t, Body, Secret)},v0={new string('0', 64)}";
        Assert.Equal(StripeSignatureStatus.Valid, Verify(header));
    }

    [Fact]
    public void Verify_TamperedBody_Mismatch()
    {
        var t = Now.ToUnixTimeSeconds();
        var tampered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(Body).Replace("cs_1", "cs_2"));
        Assert.Equal(StripeSignatureStatus.Mismatch, Verify($"t={t},v1={Sign(t, Body, Secret)}", tampered));
    }

    [Fact]
    public void Verify_WrongSecret_Mismatch()
    {
        var t = Now.ToUnixTimeSeconds();
        Assert.Equal(StripeSignatureStatus.Mismatch, Verify($"t={t},v1={Sign(t, Body, "whsec_wrong")}"));
    }

    [Fact]
    public void Verify_TimestampChangedAfterSigning_Mismatch()
    {
        var t = Now.ToUnixTimeSeconds();
        Assert.Equal(StripeSignatureStatus.Mismatch, Verify($"t={t + 1},v1={Sign(t, Body, Secret)}"));
    }

    [Theory]
    [InlineData(-301)]
    [InlineData(301)]
    [InlineData(-86_400)]
    public void Verify_CorrectlySignedButOutsideTolerance_Stale(int offsetSeconds)
    {
        var t = Now.ToUnixTimeSeconds() + offsetSeconds;
        Assert.Equal(StripeSignatureStatus.Stale, Verify($"t={t},v1={Sign(t, Body, Secret)}"));
    }

    [Theory]
    [InlineData(-300)]
    [InlineData(300)]
    public void Verify_AtTheToleranceEdge_Valid(int offsetSeconds)
    {
        var t = Now.ToUnixTimeSeconds() + offsetSeconds;
        Assert.Equal(StripeSignatureStatus.Valid, Verify($"t={t},v1={Sign(t, Body, Secret)}"));
    }

    [Theory]
    [InlineData(null, StripeSignatureStatus.Missing)]
    [InlineData("", StripeSignatureStatus.Missing)]
    [InlineData("v1=abc", StripeSignatureStatus.Malformed)]
    [InlineData("t=1790000000", StripeSignatureStatus.Malformed)]
    [InlineData("t=soon,v1=0000000000000000000000000000000000000000000000000000000000000000", StripeSignatureStatus.Malformed)]
    [InlineData("t=1790000000,v0=0000000000000000000000000000000000000000000000000000000000000000", StripeSignatureStatus.Malformed)]
    [InlineData("t=1790000000,v1=zz00000000000000000000000000000000000000000000000000000000000000", StripeSignatureStatus.Malformed)]
    public void Verify_MissingOrMalformedHeader_Refused(string? header, StripeSignatureStatus expected) =>
        Assert.Equal(expected, Verify(header));

    [Fact]
    public void Verify_SignatureOfAnotherTimestampPrefix_Mismatch()
    {
        // "{t}." is part of what is signed: a signature over the bare body must not pass.
        var t = Now.ToUnixTimeSeconds();
        var bare = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), Body));
        Assert.Equal(StripeSignatureStatus.Mismatch, Verify($"t={t},v1={bare}"));
    }
}
