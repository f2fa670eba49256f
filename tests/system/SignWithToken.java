/*
 * A signature made by Java's SunPKCS11 provider through p11mux.so, for
 * tests/system/java.sh.  Run as a single source file (java 11 and later):
 *
 *     java SignWithToken.java PROVIDER.cfg PIN ALIAS ALGORITHM IN OUT
 *
 * loads the provider from its configuration file (library = p11mux.so),
 * opens the token's key store with PIN, signs the file IN with the private
 * key of ALIAS using ALGORITHM (SHA256withECDSA, SHA256withRSA, ...) through
 * the token, writes the signature (DER for ECDSA) to OUT, verifies it in
 * software with the certificate's public key, and prints "verified: true".
 */
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.Security;
import java.security.Signature;
import java.security.cert.Certificate;

public class SignWithToken {
    public static void main(String[] args) throws Exception {
        if (args.length != 6) {
            System.err.println("usage: SignWithToken PROVIDER.cfg PIN ALIAS ALGORITHM IN OUT");
            System.exit(1);
        }
        Provider provider = Security.getProvider("SunPKCS11").configure(args[0]);
        Security.addProvider(provider);
        KeyStore store = KeyStore.getInstance("PKCS11", provider);
        store.load(null, args[1].toCharArray());

        PrivateKey key = (PrivateKey) store.getKey(args[2], null);
        Certificate cert = store.getCertificate(args[2]);
        if (key == null || cert == null) {
            System.err.println("no private key and certificate named " + args[2]);
            System.exit(2);
        }
        byte[] data = Files.readAllBytes(Paths.get(args[4]));

        Signature signer = Signature.getInstance(args[3], provider);
        signer.initSign(key);
        signer.update(data);
        byte[] signature = signer.sign();
        Files.write(Paths.get(args[5]), signature);
        System.out.println("provider: " + signer.getProvider().getName());

        Signature verifier = Signature.getInstance(args[3]);
        verifier.initVerify(cert.getPublicKey());
        verifier.update(data);
        System.out.println("verified: " + verifier.verify(signature));
    }
}
