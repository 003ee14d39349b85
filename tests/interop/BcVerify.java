// Independent check of ecert's signatures with BouncyCastle, the library Java OFD software
// (ofdrw and most vendors' verifiers) uses.  Run from source, no build step (Java 11+):
//
//   java -cp /usr/share/java/bcprov.jar:/usr/share/java/bcpkix.jar:/usr/share/java/bcutil.jar \
//        tests/interop/BcVerify.java CHECK...
//
// Checks (any number, in any order, all in one JVM run):
//
//   cert NAME CERT.der ISSUER.der       parse CERT, verify its signature with ISSUER's public key
//   raw  NAME SIG DATA CERT.der         a bare signature over DATA by CERT's key (SM2 and ECDSA:
//                                       DER SEQUENCE{r,s}; SM3withSM2, SHA256withECDSA or Ed25519)
//   cms  NAME CMS.der CONTENT CERT.der  a detached CMS SignedData over CONTENT, signed by CERT
//   ofd  NAME FILE.ofd ANCHOR.der       Doc_0/Signs/Sign_0 of an OFD file: its SignedValue over the
//                                       exact Signature.xml bytes, and every Reference/CheckValue
//                                       recomputed.  A CMS SignedValue must be signed by the
//                                       certificate it carries, issued by ANCHOR (the root); a bare
//                                       signature must verify with ANCHOR (the signer certificate)
//   copy NAME FILE.ofd ANCHOR.der       the same for Copy/Signs/Sign_0, the signature of an annotated
//                                       copy (spec/annotated-copy.md), which must cover every file
//
// One line per check: "OK KIND NAME: what was verified" or "FAIL KIND NAME: why"; "INFO" lines
// only inform.  Exit status 0 only when every check passed.
//
// SM2 user ID: BouncyCastle's SM3withSM2 uses 1234567812345678 (GM/T 0009) unless told otherwise,
// and nothing here tells it otherwise, except one probe of SM2 certificates with the empty ID.
//
// CMS is checked along two BouncyCastle paths, and both must pass:
//   * "CMSSignedData": the PKIX API (CMSSignedData + SignerInformation.verify), as Java verifiers
//     use it.  BC 1.72 names an SM2 SignerInfo only by 1.2.156.10197.1.501; for GB/T 35275's
//     1.2.156.10197.1.301.1 its defaults throw "Unknown signature type requested", which is
//     printed as an INFO line and the check repeated with that OID mapped to "SM2";
//   * "SignedData": the ASN.1 classes (ContentInfo -> SignedData -> SignerInfo) with the content-type
//     and messageDigest attributes and the signature over the DER SET of signed attributes checked
//     here with BouncyCastle primitives (SM3Digest, Signature "SM3withSM2"/"SHA256withECDSA"/"Ed25519"),
//     much as ofdrw's GBT35275Validate does it with its own ASN.1 classes and BC's Signature.

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Security;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collection;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

import javax.xml.parsers.DocumentBuilderFactory;

import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.ASN1Set;
import org.bouncycastle.asn1.cms.Attribute;
import org.bouncycastle.asn1.cms.AttributeTable;
import org.bouncycastle.asn1.cms.CMSAttributes;
import org.bouncycastle.asn1.cms.CMSObjectIdentifiers;
import org.bouncycastle.asn1.cms.ContentInfo;
import org.bouncycastle.asn1.cms.IssuerAndSerialNumber;
import org.bouncycastle.asn1.cms.SignedData;
import org.bouncycastle.asn1.cms.SignerInfo;
import org.bouncycastle.asn1.cms.Time;
import org.bouncycastle.asn1.edec.EdECObjectIdentifiers;
import org.bouncycastle.asn1.gm.GMObjectIdentifiers;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.CMSSignedData;
import org.bouncycastle.cms.DefaultCMSSignatureAlgorithmNameGenerator;
import org.bouncycastle.cms.SignerInformationVerifier;
import org.bouncycastle.cms.SignerInformation;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoVerifierBuilder;
import org.bouncycastle.crypto.digests.SM3Digest;
import org.bouncycastle.jcajce.spec.SM2ParameterSpec;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.DefaultSignatureAlgorithmIdentifierFinder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

public class BcVerify {
    static final String OFD_NS = "http://www.ofdspec.org/2016";
    static final String SIGN_DIR = "Doc_0/Signs/Sign_0/";
    static final String COPY_SIGN_DIR = "Copy/Signs/Sign_0/";
    static final ASN1ObjectIdentifier GM_DATA = new ASN1ObjectIdentifier("1.2.156.10197.6.1.4.2.1");
    static final ASN1ObjectIdentifier GM_SIGNED_DATA = new ASN1ObjectIdentifier("1.2.156.10197.6.1.4.2.2");

    interface Check {
        String run() throws Exception;
    }

    static int checks = 0;
    static String current = ""; // "KIND NAME" of the check running, for its INFO lines
    static int failures = 0;

    public static void main(String[] args) throws Exception {
        Security.addProvider(new BouncyCastleProvider());
        int i = 0;
        while (i < args.length) {
            String kind = args[i];
            String[] a = Arrays.copyOfRange(args, i + 1, Math.min(args.length, i + 1 + arity(kind)));
            i += 1 + arity(kind);
            if (a.length != arity(kind)) {
                throw new IllegalArgumentException(kind + " needs " + arity(kind) + " arguments");
            }
            String name = a[0];
            switch (kind) {
                case "cert" -> report(kind, name, () -> checkCertificate(cert(a[1]), cert(a[2])));
                case "raw" -> report(kind, name, () -> checkRaw(read(a[1]), read(a[2]), cert(a[3])));
                case "cms" -> report(kind, name, () -> checkCms(read(a[1]), read(a[2]), cert(a[3])));
                case "ofd" -> report(kind, name, () -> checkOfd(read(a[1]), cert(a[2]), SIGN_DIR));
                case "copy" -> report(kind, name, () -> checkOfd(read(a[1]), cert(a[2]), COPY_SIGN_DIR));
                default -> throw new IllegalArgumentException("unknown check " + kind);
            }
        }
        System.exit(checks > 0 && failures == 0 ? 0 : 1);
    }

    static int arity(String kind) {
        return switch (kind) {
            case "cert", "ofd", "copy" -> 3;
            case "raw", "cms" -> 4;
            default -> throw new IllegalArgumentException("unknown check " + kind);
        };
    }

    static void report(String kind, String name, Check check) {
        checks++;
        current = kind + " " + name;
        try {
            System.out.println("OK " + kind + " " + name + ": " + check.run());
        } catch (Exception e) {
            failures++;
            System.out.println("FAIL " + kind + " " + name + ": " + describe(e));
        }
    }

    static String describe(Exception e) {
        return e instanceof Failed ? e.getMessage() : e.toString();
    }

    static final class Failed extends Exception {
        Failed(String message) {
            super(message);
        }
    }

    // --- inputs -------------------------------------------------------------------------------

    static byte[] read(String path) throws IOException {
        return Files.readAllBytes(Path.of(path));
    }

    static X509Certificate cert(String path) throws Exception {
        return parseCertificate(read(path));
    }

    static X509Certificate parseCertificate(byte[] der) throws Exception {
        CertificateFactory factory = CertificateFactory.getInstance("X.509", "BC");
        return (X509Certificate) factory.generateCertificate(new ByteArrayInputStream(der));
    }

    static boolean isSm2(PublicKey key) {
        SubjectPublicKeyInfo spki = SubjectPublicKeyInfo.getInstance(key.getEncoded());
        ASN1Encodable params = spki.getAlgorithm().getParameters();
        return GMObjectIdentifiers.sm2p256v1.equals(params);
    }

    /** The JCA signature name for a bare signature by this key (the digest the key kind implies). */
    static String signatureName(PublicKey key) {
        if (isSm2(key)) {
            return "SM3withSM2";
        }
        return switch (key.getAlgorithm()) {
            case "EC", "ECDSA" -> "SHA256withECDSA";
            case "Ed25519", "EdDSA" -> "Ed25519";
            default -> throw new IllegalArgumentException("unexpected key " + key.getAlgorithm());
        };
    }

    static boolean verifySignature(String name, PublicKey key, byte[] sm2Id, byte[] data, byte[] sig)
            throws Exception {
        Signature verifier = Signature.getInstance(name, "BC");
        if (sm2Id != null) {
            verifier.setParameter(new SM2ParameterSpec(sm2Id));
        }
        verifier.initVerify(key);
        verifier.update(data);
        try {
            return verifier.verify(sig);
        } catch (java.security.SignatureException e) {
            return false; // a malformed signature encoding is a failed signature, not a crash
        }
    }

    static String hex(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (byte x : b) {
            s.append(String.format("%02x", x));
        }
        return s.toString();
    }

    // --- (a) certificates ---------------------------------------------------------------------

    static String checkCertificate(X509Certificate cert, X509Certificate issuer) throws Exception {
        if (!cert.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) {
            throw new Failed("issuer name " + cert.getIssuerX500Principal() + " is not the subject of "
                    + issuer.getSubjectX500Principal());
        }
        // BouncyCastle's own certificate check: the signature algorithm named by the certificate,
        // for SM2 (1.2.156.10197.1.501, "SM3WITHSM2") with BC's default ID 1234567812345678
        try {
            cert.verify(issuer.getPublicKey(), "BC");
        } catch (java.security.SignatureException e) {
            throw new Failed("X509Certificate.verify refused the signature (" + cert.getSigAlgName() + "): " + e);
        }
        String detail = cert.getSigAlgName() + " (" + cert.getSigAlgOID() + ") verified by the issuer key"
                + " with X509Certificate.verify, subject " + cert.getSubjectX500Principal();
        if (isSm2(issuer.getPublicKey())) {
            // which SM2 ID the signature was made with: the default, not the empty one OpenSSL uses
            byte[] tbs = cert.getTBSCertificate(), sig = cert.getSignature();
            boolean withDefault = verifySignature("SM3withSM2", issuer.getPublicKey(),
                    "1234567812345678".getBytes(StandardCharsets.US_ASCII), tbs, sig);
            boolean withEmpty = verifySignature("SM3withSM2", issuer.getPublicKey(), new byte[0], tbs, sig);
            if (!withDefault) {
                throw new Failed("SM2 certificate signature does not verify with ID 1234567812345678");
            }
            detail += "; SM2 ID 1234567812345678 verifies, the empty ID " + (withEmpty ? "also" : "does not");
        }
        return detail;
    }

    // --- (b) bare signatures ------------------------------------------------------------------

    static String checkRaw(byte[] sig, byte[] data, X509Certificate cert) throws Exception {
        String name = signatureName(cert.getPublicKey());
        if (!verifySignature(name, cert.getPublicKey(), null, data, sig)) {
            throw new Failed(name + " signature does not verify");
        }
        return name + " over " + data.length + " bytes" + (name.equals("SM3withSM2") ? ", BC default SM2 ID" : "");
    }

    // --- (c) CMS SignedData -------------------------------------------------------------------

    /** Both paths, each on its own: the check passes when both pass, and says what each found. */
    static String checkCms(byte[] cms, byte[] content, X509Certificate cert) throws Exception {
        List<String> passed = new ArrayList<>(), failed = new ArrayList<>();
        Map<String, Check> paths = new LinkedHashMap<>();
        paths.put("CMSSignedData", () -> checkCmsHighLevel(cms, content, cert));
        paths.put("SignedData", () -> checkCmsLowLevel(cms, content, cert));
        for (Map.Entry<String, Check> path : paths.entrySet()) {
            try {
                passed.add(path.getKey() + " path OK " + path.getValue().run());
            } catch (Exception e) {
                failed.add(path.getKey() + " path FAILED: " + describe(e));
            }
        }
        if (!failed.isEmpty()) {
            throw new Failed(String.join("; ", failed) + (passed.isEmpty() ? "" : " (while " + passed + ")"));
        }
        return String.join("; ", passed);
    }

    /**
     * BouncyCastle's PKIX API, as Java OFD verifiers call it: first with BC's defaults; if those
     * cannot name the SM2 signer's algorithm (BC 1.72 knows SM2 in a SignerInfo only as
     * 1.2.156.10197.1.501, not as GB/T 35275's 1.2.156.10197.1.301.1), again with that one OID
     * mapped to "SM2", the one-line change such a verifier needs.
     */
    static String checkCmsHighLevel(byte[] cms, byte[] content, X509Certificate cert) throws Exception {
        CMSSignedData signed;
        try {
            signed = new CMSSignedData(new CMSProcessableByteArray(content), cms);
        } catch (Exception e) {
            throw new Failed("refused the encoding: " + e);
        }
        Collection<SignerInformation> signers = signed.getSignerInfos().getSigners();
        if (signers.size() != 1) {
            throw new Failed(signers.size() + " SignerInfos, expected 1");
        }
        SignerInformation signer = signers.iterator().next();
        String path = "with BC defaults";
        SignerInformationVerifier verifier = new JcaSimpleSignerInfoVerifierBuilder().setProvider("BC").build(cert);
        try {
            verifyHighLevel(signer, verifier, cert);
        } catch (IllegalArgumentException e) {
            boolean gmSigner = GMObjectIdentifiers.sm2sign.getId().equals(signer.getEncryptionAlgOID());
            if (!gmSigner || !String.valueOf(e.getMessage()).startsWith("Unknown signature type requested")) {
                throw e;
            }
            System.out.println("INFO " + current + ": CMSSignedData with BC defaults refused the SignerInfo: "
                    + "SignerInformation.verify threw " + e);
            verifier = new SignerInformationVerifier(new Sm2SignNames(), new DefaultSignatureAlgorithmIdentifierFinder(),
                    new JcaContentVerifierProviderBuilder().setProvider("BC").build(cert),
                    new JcaDigestCalculatorProviderBuilder().setProvider("BC").build());
            verifyHighLevel(signer, verifier, cert);
            path = "once 1.2.156.10197.1.301.1 is mapped to SM2 (BC defaults refused it)";
        }
        return path + " (content type " + signed.getSignedContentTypeOID() + ", SignerInfo "
                + signer.getEncryptionAlgOID() + " with digest " + signer.getDigestAlgOID() + ")";
    }

    /** BC's default names, plus GB/T 35275's SM2 signature OID (1.2.156.10197.1.301.1) as "SM2". */
    static final class Sm2SignNames extends DefaultCMSSignatureAlgorithmNameGenerator {
        Sm2SignNames() {
            setSigningEncryptionAlgorithmMapping(GMObjectIdentifiers.sm2sign, "SM2");
        }
    }

    /** SignerInformation.verify: the content-type attribute, messageDigest against the content, the
     *  certificate's validity at signingTime and the signature over the signed attributes. */
    static void verifyHighLevel(SignerInformation signer, SignerInformationVerifier verifier, X509Certificate cert)
            throws Exception {
        List<String> problems = new ArrayList<>();
        if (!signer.getSID().match(new X509CertificateHolder(cert.getEncoded()))) {
            problems.add("the SignerInfo names another certificate than " + cert.getSubjectX500Principal());
        }
        try {
            if (!signer.verify(verifier)) {
                problems.add("SignerInformation.verify returned false");
            }
        } catch (org.bouncycastle.cms.CMSException e) {
            problems.add("SignerInformation.verify threw " + e);
        }
        if (!problems.isEmpty()) {
            throw new Failed(String.join("; ", problems));
        }
    }

    /** ContentInfo -> SignedData -> SignerInfo, every step of the signer check done here. */
    static String checkCmsLowLevel(byte[] cms, byte[] content, X509Certificate cert) throws Exception {
        ContentInfo info = ContentInfo.getInstance(ASN1Primitive.fromByteArray(cms));
        ASN1ObjectIdentifier outer = info.getContentType();
        SignedData signedData = SignedData.getInstance(info.getContent());
        ASN1ObjectIdentifier contentType = signedData.getEncapContentInfo().getContentType();
        boolean gm = outer.equals(GM_SIGNED_DATA);
        if (!(gm ? contentType.equals(GM_DATA) : outer.equals(CMSObjectIdentifiers.signedData)
                && contentType.equals(CMSObjectIdentifiers.data))) {
            throw new Failed("content types " + outer + " / " + contentType + " do not form a pair");
        }
        if (signedData.getEncapContentInfo().getContent() != null) {
            throw new Failed("not detached");
        }
        if (signedData.getSignerInfos().size() != 1) {
            throw new Failed(signedData.getSignerInfos().size() + " SignerInfos, expected 1");
        }
        SignerInfo signer = SignerInfo.getInstance(signedData.getSignerInfos().getObjectAt(0));
        IssuerAndSerialNumber sid = IssuerAndSerialNumber.getInstance(signer.getSID().getId());
        X509CertificateHolder holder = new X509CertificateHolder(cert.getEncoded());
        boolean sidMatches = sid.getName().equals(holder.getIssuer())
                && sid.getSerialNumber().getValue().equals(holder.getSerialNumber());
        boolean carried = false;
        for (ASN1Encodable c : signedData.getCertificates()) {
            carried |= Arrays.equals(c.toASN1Primitive().getEncoded(ASN1Encoding.DER), cert.getEncoded());
        }

        ASN1ObjectIdentifier digestOid = signer.getDigestAlgorithm().getAlgorithm();
        ASN1ObjectIdentifier sigOid = signer.getDigestEncryptionAlgorithm().getAlgorithm();
        ASN1Set signedAttributes = signer.getAuthenticatedAttributes();
        if (signedAttributes == null) {
            throw new Failed("no signed attributes");
        }
        AttributeTable attributes = new AttributeTable(signedAttributes);
        Attribute typeAttr = attributes.get(CMSAttributes.contentType);
        Attribute digestAttr = attributes.get(CMSAttributes.messageDigest);
        Attribute timeAttr = attributes.get(CMSAttributes.signingTime);
        if (typeAttr == null || digestAttr == null || timeAttr == null) {
            throw new Failed("content-type, messageDigest or signingTime attribute missing");
        }
        List<String> problems = new ArrayList<>();
        if (!sidMatches) {
            problems.add("the SignerInfo names another certificate than " + cert.getSubjectX500Principal());
        }
        if (!carried) {
            problems.add("the certificate is not among the SignedData certificates");
        }
        if (!contentType.equals(typeAttr.getAttrValues().getObjectAt(0))) {
            problems.add("content-type attribute " + typeAttr.getAttrValues().getObjectAt(0) + " != " + contentType);
        }
        byte[] expected = digest(digestOid, content);
        byte[] claimed = ASN1OctetString.getInstance(digestAttr.getAttrValues().getObjectAt(0)).getOctets();
        if (!Arrays.equals(expected, claimed)) {
            problems.add("messageDigest " + hex(claimed) + " != digest of the content " + hex(expected));
        }
        Date signingTime = Time.getInstance(timeAttr.getAttrValues().getObjectAt(0)).getDate();

        String name = cmsSignatureName(sigOid, digestOid);
        byte[] toBeSigned = signedAttributes.getEncoded(ASN1Encoding.DER); // RFC 5652 §5.4: the SET OF
        byte[] signature = signer.getEncryptedDigest().getOctets();
        if (!verifySignature(name, cert.getPublicKey(), null, toBeSigned, signature)) {
            problems.add(name + " signature over the signed attributes does not verify with the certificate's key");
        }
        if (!problems.isEmpty()) {
            throw new Failed(String.join("; ", problems));
        }
        return "(" + (gm ? "GB/T 35275" : "RFC 5652") + " " + outer + ", " + name + " (" + sigOid
                + ") over the signed attributes, messageDigest " + digestOid + ", signingTime "
                + signingTime.toInstant() + ")";
    }

    static String cmsSignatureName(ASN1ObjectIdentifier sigOid, ASN1ObjectIdentifier digestOid) throws Failed {
        if (sigOid.equals(GMObjectIdentifiers.sm2sign) || sigOid.equals(GMObjectIdentifiers.sm2sign_with_sm3)) {
            if (!digestOid.equals(GMObjectIdentifiers.sm3)) {
                throw new Failed("SM2 signer with digest " + digestOid);
            }
            return "SM3withSM2";
        }
        if (sigOid.equals(X9ObjectIdentifiers.ecdsa_with_SHA256)) {
            return "SHA256withECDSA";
        }
        if (sigOid.equals(EdECObjectIdentifiers.id_Ed25519)) {
            return "Ed25519";
        }
        throw new Failed("unexpected signature algorithm " + sigOid);
    }

    static byte[] digest(ASN1ObjectIdentifier oid, byte[] data) throws Exception {
        if (oid.equals(GMObjectIdentifiers.sm3)) {
            SM3Digest sm3 = new SM3Digest();
            sm3.update(data, 0, data.length);
            byte[] out = new byte[sm3.getDigestSize()];
            sm3.doFinal(out, 0);
            return out;
        }
        if (oid.equals(NISTObjectIdentifiers.id_sha256)) {
            return MessageDigest.getInstance("SHA-256", "BC").digest(data);
        }
        if (oid.equals(NISTObjectIdentifiers.id_sha512)) {
            return MessageDigest.getInstance("SHA-512", "BC").digest(data);
        }
        throw new Failed("unexpected digest algorithm " + oid);
    }

    // --- (d) OFD files ------------------------------------------------------------------------

    static String checkOfd(byte[] ofd, X509Certificate root, String signDir) throws Exception {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(ofd))) {
            for (ZipEntry e; (e = zip.getNextEntry()) != null; ) {
                if (entries.put(e.getName(), zip.readAllBytes()) != null) {
                    throw new Failed("duplicate entry " + e.getName());
                }
            }
        }
        byte[] signatureXml = entries.get(signDir + "Signature.xml");
        if (signatureXml == null) {
            throw new Failed("no " + signDir + "Signature.xml");
        }
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setNamespaceAware(true);
        factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        Document doc = factory.newDocumentBuilder().parse(new ByteArrayInputStream(signatureXml));
        String valueLoc = text(doc.getDocumentElement(), "SignedValue");
        byte[] signedValue = entries.get(stripSlash(valueLoc));
        if (signedValue == null) {
            throw new Failed("SignedValue " + valueLoc + " is not in the package");
        }

        List<String> problems = new ArrayList<>();
        // the signature value over the exact Signature.xml bytes
        String valueDetail = "";
        if (looksLikeContentInfo(signedValue)) {
            X509Certificate signer = carriedSigner(signedValue);
            try {
                checkCertificate(signer, root);
            } catch (Exception e) {
                problems.add("signer certificate not issued by the root: " + e.getMessage());
            }
            try {
                valueDetail = "CMS over Signature.xml by " + signer.getSubjectX500Principal()
                        + ", issued by the root: " + checkCms(signedValue, signatureXml, signer);
            } catch (Exception e) {
                problems.add("CMS over Signature.xml: " + e.getMessage());
            }
        } else {
            // bare DER signature: the certificate comes from the verifier (here: the one given)
            try {
                valueDetail = "bare signature over Signature.xml: " + checkRaw(signedValue, signatureXml, root);
            } catch (Exception e) {
                problems.add("bare signature over Signature.xml: " + e.getMessage());
            }
        }

        // every Reference/CheckValue recomputed from the package entry it names
        Element references = (Element) doc.getElementsByTagNameNS(OFD_NS, "References").item(0);
        ASN1ObjectIdentifier checkMethod = new ASN1ObjectIdentifier(references.getAttribute("CheckMethod"));
        NodeList refs = references.getElementsByTagNameNS(OFD_NS, "Reference");
        List<String> referenced = new ArrayList<>();
        for (int i = 0; i < refs.getLength(); i++) {
            Element ref = (Element) refs.item(i);
            String file = stripSlash(ref.getAttribute("FileRef"));
            referenced.add(file);
            byte[] bytes = entries.get(file);
            if (bytes == null) {
                problems.add("Reference to missing " + file);
                continue;
            }
            byte[] claimed = Base64.getDecoder().decode(text(ref, "CheckValue").trim());
            if (!Arrays.equals(claimed, digest(checkMethod, bytes))) {
                problems.add("CheckValue of " + file + " does not match");
            }
        }
        for (String entry : entries.keySet()) {
            boolean infrastructure = entry.endsWith("/Signatures.xml") || entry.startsWith(signDir);
            if (!infrastructure && !referenced.contains(entry)) {
                problems.add(entry + " is not covered by a Reference");
            }
        }
        if (!problems.isEmpty()) {
            throw new Failed(String.join("; ", problems));
        }
        return valueDetail + "; " + refs.getLength() + " CheckValues (" + checkMethod + ") match";
    }

    static String stripSlash(String loc) {
        return loc.startsWith("/") ? loc.substring(1) : loc;
    }

    static String text(Element parent, String localName) throws Failed {
        NodeList found = parent.getElementsByTagNameNS(OFD_NS, localName);
        if (found.getLength() != 1) {
            throw new Failed(found.getLength() + " " + localName + " elements");
        }
        return found.item(0).getTextContent();
    }

    static boolean looksLikeContentInfo(byte[] der) {
        try {
            ASN1Sequence seq = ASN1Sequence.getInstance(ASN1Primitive.fromByteArray(der));
            return seq.size() == 2 && seq.getObjectAt(0) instanceof ASN1ObjectIdentifier;
        } catch (Exception e) {
            return false;
        }
    }

    /** The certificate the CMS SignerInfo names (by issuer and serial number) among those it carries. */
    static X509Certificate carriedSigner(byte[] cms) throws Exception {
        SignedData signedData = SignedData.getInstance(ContentInfo.getInstance(ASN1Primitive.fromByteArray(cms))
                .getContent());
        SignerInfo signer = SignerInfo.getInstance(signedData.getSignerInfos().getObjectAt(0));
        IssuerAndSerialNumber sid = IssuerAndSerialNumber.getInstance(signer.getSID().getId());
        for (ASN1Encodable c : signedData.getCertificates()) {
            X509CertificateHolder holder = new X509CertificateHolder(c.toASN1Primitive().getEncoded(ASN1Encoding.DER));
            if (holder.getIssuer().equals(sid.getName())
                    && holder.getSerialNumber().equals(sid.getSerialNumber().getValue())) {
                return parseCertificate(holder.getEncoded());
            }
        }
        throw new Failed("the CMS does not carry the certificate its SignerInfo names");
    }
}
